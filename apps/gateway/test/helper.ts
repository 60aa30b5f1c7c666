import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createService, loadConfig, type ServiceInstance } from '@shop/service-kit';
import { createTestDatabase, createTestRedisPrefix, createTestTokenIssuer, eventually, TEST_REDIS_URL, type Teardown, type TestTokenIssuer } from '@shop/testing';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { buildApp } from '../src/app';
import { GatewayConfigSchema, type GatewayConfig } from '../src/config';

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface FakeUpstream {
  app: ServiceInstance;
  url: string;
  /** Every request the fake received, in order (health probes and documents included). */
  seen: SeenRequest[];
}

/**
 * A stand-in for a service: the real service kit (problem+json, /health, /health/ready,
 * /docs/openapi.json generated from its routes' schemas), listening on a free port, recording
 * what reaches it. `routes` adds the behaviour the test needs.
 */
export async function startFakeUpstream(t: Teardown, name: string, routes: (app: ServiceInstance) => void | Promise<void> = () => undefined): Promise<FakeUpstream> {
  const app = await createService({ name, version: '1.0.0', description: `fake ${name}`, logLevel: 'silent', trustProxy: 'loopback' });
  const seen: SeenRequest[] = [];
  app.addHook('preHandler', async (request) => {
    seen.push({ method: request.method, url: request.url, headers: { ...request.headers }, body: request.body === undefined ? '' : JSON.stringify(request.body) });
  });
  await routes(app);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return { app, url, seen };
}

/** A URL where nothing listens: connections are refused. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export interface BuildGatewayOptions {
  auth?: string;
  catalog?: string;
  orders?: string;
  recommendations?: string;
  env?: Partial<Record<keyof GatewayConfig, string>>;
  /** Verify tokens with this issuer's keys instead of auth's JWKS. */
  issuer?: TestTokenIssuer | null;
  /** Collect log lines (parsed JSON) here. */
  logs?: Record<string, unknown>[];
}

/** The gateway on its own Redis key prefix, pointed at the given upstreams (unreachable ones otherwise). */
export async function buildGateway(t: Teardown, options: BuildGatewayOptions = {}) {
  const issuer = options.issuer === undefined ? await createTestTokenIssuer() : options.issuer;
  const redis = createTestRedisPrefix('gateway');
  const unreachable = await closedPortUrl();
  const config = loadConfig(GatewayConfigSchema, {
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: redis.prefix,
    LOG_LEVEL: options.logs ? 'info' : (process.env.TEST_LOG_LEVEL ?? 'silent'),
    AUTH_URL: options.auth ?? unreachable,
    CATALOG_URL: options.catalog ?? unreachable,
    ORDERS_URL: options.orders ?? unreachable,
    RECOMMENDATIONS_URL: options.recommendations ?? unreachable,
    // Fast enough for tests; the defaults are production's.
    UPSTREAM_CONNECT_TIMEOUT_MS: '1000',
    ...options.env,
  });
  const logs = options.logs;
  const logStream = logs
    ? new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      })
    : undefined;
  const app = await buildApp(config, { ...(issuer ? { verificationKeys: issuer.verificationKeys } : {}), ...(logStream ? { logStream } : {}) });
  t.teardown(async () => {
    await app.close();
    await redis.clear();
  });
  await app.ready();
  // Until Redis is connected the gateway counts in memory (on purpose); tests want it settled.
  if (options.env?.REDIS_URL === undefined) await eventually(() => (app.redis.status === 'ready' ? true : undefined));
  return { app, config, issuer: issuer!, redisPrefix: redis.prefix };
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

export function problemOf(response: LightMyRequestResponse) {
  return response.json<{ type: string; title: string; status: number; detail?: string; code: string; requestId: string; instance: string }>();
}

const WORKSPACE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const AUTH_ADMIN = { email: 'admin@gateway.test', password: 'admin-password-for-gateway-tests' };

/**
 * The real auth service as a child process, on a fresh database of its own (migrated with its
 * own migrate script) and its own Redis prefix; stopped and dropped on teardown.
 */
export function startRealAuth(t: Teardown, env: Record<string, string> = {}): Promise<{ url: string }> {
  return startRealService(t, 'auth', { ADMIN_EMAIL: AUTH_ADMIN.email, ADMIN_PASSWORD: AUTH_ADMIN.password, ...env });
}

/**
 * The real catalog as a child process, holding one category and one product (reads need no
 * auth). Rows are written straight into its fresh database: a seed process would cost as much
 * start-up time as the service itself.
 */
export function startRealCatalog(t: Teardown, env: Record<string, string> = {}): Promise<{ url: string }> {
  return startRealService(t, 'catalog', env, {
    prepare: async (databaseUrl) => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const [category] = (await client.query(`INSERT INTO categories (name, slug, description) VALUES ('Tea', 'tea', 'Leaves') RETURNING id`)).rows;
        await client.query(
          `INSERT INTO products (sku, name, description, price_cents, currency, category_id, tags, stock)
           VALUES ('TEA-1', 'Sencha', 'A green tea', 1250, 'USD', $1, '{green}', 10)`,
          [category.id],
        );
      } finally {
        await client.end();
      }
    },
  });
}

/**
 * A real service as a child process, speaking HTTP over a real socket: on a fresh database of its
 * own (migrated with its own migrate script, then `prepare`d when asked) and its own
 * Redis prefix; stopped and dropped on teardown.
 */
async function startRealService(
  t: Teardown,
  service: 'auth' | 'catalog',
  env: Record<string, string>,
  options: { prepare?: (databaseUrl: string) => Promise<void> } = {},
): Promise<{ url: string }> {
  const database = await createTestDatabase(`gateway_${service}`);
  const redis = createTestRedisPrefix(`gateway_${service}`);
  const childEnv = {
    ...process.env,
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: redis.prefix,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    ...env,
  };
  const run = (script: string) =>
    spawn(process.execPath, ['--import=tsx', script], { cwd: WORKSPACE_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const runToCompletion = async (script: string) => {
    const child = run(script);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`${script} failed: ${output}`);
  };

  await runToCompletion(`apps/${service}/src/migrate.ts`);
  await options.prepare?.(database.url);

  const child = run(`apps/${service}/src/main.ts`);
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${service} did not start:\n${output}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (listening) {
        clearTimeout(timer);
        // Keep draining its output (a full pipe would block it), without keeping it.
        child.stdout.removeAllListeners('data');
        child.stderr.removeAllListeners('data');
        child.stdout.resume();
        child.stderr.resume();
        resolve(listening[1]!);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      reject(new Error(`${service} exited (${exitCode}):\n${output}`));
    });
  });
  t.teardown(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await database.drop();
    await redis.clear();
  });
  return { url };
}
