/**
 * Runs the whole stack as plain processes against local PostgreSQL and Redis, one database per
 * service, with the same variables as docker-compose.yml. Ctrl-C stops every service gracefully.
 *
 *   npm run stack
 *
 * Dev only: the defaults below (admin password, a signing key generated into .dev/) are for a
 * laptop, never for a deployment.
 *
 * `STACK_COMPILED=true` runs each service as its image does: bundled first (scripts/build-app.mjs
 * into dist/apps/<name>), then `node --enable-source-maps dist/apps/<name>/main.js` with
 * NODE_ENV=production and the image's NODE_OPTIONS, rather than the TypeScript sources through tsx (the benchmark measures this).
 * `STACK_SERVICE_NODE_ARGS` adds Node options to the services alone, e.g. `--cpu-prof`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { ensureDatabase } from '@shop/db';

const POSTGRES = process.env.STACK_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A second stack (the end-to-end tests) runs beside a dev stack on shifted ports, databases and keys. */
const PORT_OFFSET = Number(process.env.STACK_PORT_OFFSET ?? 0);
const NAME_PREFIX = process.env.STACK_NAME_PREFIX ?? 'shop';
/**
 * `true`: a service that exits is started again, as compose's `restart:` or Kubernetes would (the
 * fault-injection tests kill services by the pids printed on `stack: <name> started (pid …)`).
 * Otherwise one exiting stops the stack.
 */
const RESTART_EXITED = process.env.STACK_RESTART_EXITED === 'true';
const COMPILED = process.env.STACK_COMPILED === 'true';
const SERVICE_NODE_ARGS = (process.env.STACK_SERVICE_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
/** What the Dockerfile's runtime stage sets (see there why). */
const IMAGE_NODE_OPTIONS = '--max-semi-space-size=1';
const port = (base: number) => base + PORT_OFFSET;

interface ServiceSpec {
  name: string;
  port: number;
  /** The management port (`/metrics`): the services' defaults, shifted like the rest. */
  metricsPort: number;
  database?: string;
  env?: Record<string, string>;
}

const KEY_FILE = `.dev/${NAME_PREFIX}-jwt-private.pem`;
if (!existsSync(KEY_FILE)) {
  mkdirSync('.dev', { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(KEY_FILE, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
}

const JWKS_URL = `http://127.0.0.1:${port(3001)}/.well-known/jwks.json`;
const allServices: ServiceSpec[] = [
  {
    name: 'auth',
    port: port(3001),
    metricsPort: port(9101),
    database: `${NAME_PREFIX}_auth`,
    env: {
      JWT_PRIVATE_KEY_FILE: KEY_FILE,
      // The gateway is the hop in front (on loopback here): its X-Forwarded-For is the client's address.
      TRUST_PROXY: '127.0.0.1',
      ADMIN_EMAIL: process.env.ADMIN_EMAIL ?? 'admin@example.com', // dev only
      ADMIN_PASSWORD: process.env.ADMIN_PASSWORD ?? 'dev-only-admin-password', // dev only
    },
  },
  { name: 'catalog', port: port(3002), metricsPort: port(9102), database: `${NAME_PREFIX}_catalog`, env: { AUTH_JWKS_URL: JWKS_URL } },
  { name: 'orders', port: port(3003), metricsPort: port(9103), database: `${NAME_PREFIX}_orders`, env: { AUTH_JWKS_URL: JWKS_URL } },
  { name: 'recommendations', port: port(3004), metricsPort: port(9104), database: `${NAME_PREFIX}_recommendations`, env: { AUTH_JWKS_URL: JWKS_URL } },
  {
    name: 'gateway',
    port: port(8080),
    metricsPort: port(9100),
    env: {
      AUTH_URL: `http://127.0.0.1:${port(3001)}`,
      CATALOG_URL: `http://127.0.0.1:${port(3002)}`,
      ORDERS_URL: `http://127.0.0.1:${port(3003)}`,
      RECOMMENDATIONS_URL: `http://127.0.0.1:${port(3004)}`,
      AUTH_JWKS_URL: JWKS_URL,
    },
  },
];
// Services join the stack as they land in apps/.
const services = allServices.filter((service) => existsSync(`apps/${service.name}/src/main.ts`));

const children = new Map<string, ChildProcess>();
let stopping = false;

/** One of a service's entry points (`main`, `migrate`, `seed`), from its sources or, compiled, from its bundle. */
function run(name: string, entry: string, env: Record<string, string>, nodeArgs: string[] = []): ChildProcess {
  const args = COMPILED ? ['--enable-source-maps', ...nodeArgs, `dist/apps/${name}/${entry}.js`] : ['--import=tsx', ...nodeArgs, `apps/${name}/src/${entry}.ts`];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...(COMPILED ? { NODE_ENV: 'production', NODE_OPTIONS: IMAGE_NODE_OPTIONS } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `${name.padEnd(15)}| `;
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  return child;
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code ?? 0));
  });
}

if (COMPILED) {
  for (const service of services) {
    const built = await exited(spawn(process.execPath, ['scripts/build-app.mjs', service.name], { stdio: 'inherit' }));
    if (built !== 0) throw new Error(`${service.name}: build failed`);
  }
}

for (const service of services) {
  const env: Record<string, string> = {
    PORT: String(service.port),
    HOST: '127.0.0.1',
    METRICS_PORT: String(service.metricsPort),
    METRICS_HOST: '127.0.0.1',
    REDIS_URL,
    // One prefix for the whole stack: the event streams of one service are read by the others.
    REDIS_KEY_PREFIX: `${NAME_PREFIX}:`,
    ...service.env,
  };
  if (service.database) {
    env.DATABASE_URL = `${POSTGRES}/${service.database}`;
    await ensureDatabase(env.DATABASE_URL);
    const code = await exited(run(service.name, 'migrate', env));
    if (code !== 0) throw new Error(`${service.name}: migrations failed`);
    // The demo catalog, so a newcomer can browse products at once (idempotent).
    if (existsSync(`apps/${service.name}/src/seed.ts`)) {
      const seeded = await exited(run(service.name, 'seed', env));
      if (seeded !== 0) throw new Error(`${service.name}: seeding failed`);
    }
  }
  startService(service.name, env);
}

function startService(name: string, env: Record<string, string>): void {
  const child = run(name, 'main', env, SERVICE_NODE_ARGS);
  children.set(name, child);
  process.stdout.write(`stack: ${name} started (pid ${child.pid})\n`);
  child.once('exit', (code, signal) => {
    if (stopping) return;
    if (RESTART_EXITED) {
      process.stdout.write(`stack: ${name} exited (${signal ?? code}); starting it again\n`);
      setTimeout(() => !stopping && startService(name, env), 100);
      return;
    }
    process.stdout.write(`${name} exited (${signal ?? code}); stopping the stack\n`);
    void stop(1);
  });
}
process.stdout.write(`stack: ${services.map((s) => `${s.name} on :${s.port} (metrics :${s.metricsPort})`).join(', ')}. Ctrl-C stops it.\n`);

async function stop(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
  await Promise.all([...children.values()].map(exited));
  process.exit(code);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
