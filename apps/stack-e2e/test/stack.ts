import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dropDatabase } from '@shop/db';
import { deleteKeysWithPrefix, TEST_DATABASE_URL } from '@shop/testing';

export interface RunningStack {
  gatewayUrl: string;
  admin: { email: string; password: string };
  /**
   * Each service's `/metrics` on its management port, when this suite can reach them: always for
   * the stack it starts itself; for another (compose publishes no management port) only when
   * `METRICS_URLS` names them (`gateway=http://...,orders=http://...`).
   */
  metricsUrls: Partial<Record<'gateway' | 'auth' | 'catalog' | 'orders', string>>;
}

/** The management ports of `npm run stack`, which shifts them by its offset like the service ports. */
const METRICS_PORTS = { gateway: 9100, auth: 9101, catalog: 9102, orders: 9103 };

const ADMIN = { email: 'e2e-admin@example.test', password: 'e2e-admin-password' };

export interface StackOptions {
  /** Extra environment for every service (e.g. raised rate limits); ignored for `GATEWAY_URL`. */
  env?: Record<string, string>;
}

/**
 * Limits high enough for suites that send thousands of requests from one address and one
 * account; the limits themselves are tested in the gateway's and auth's own suites.
 */
export const GENEROUS_LIMITS: Record<string, string> = {
  RATE_LIMIT_MAX: '1000000',
  RATE_LIMIT_ANONYMOUS_MAX: '1000000',
  RATE_LIMIT_LOGIN_MAX: '1000000',
  LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000000',
  LOGIN_MAX_FAILURES_PER_ADDRESS: '1000000',
};

/**
 * The stack the end-to-end suite talks to: `GATEWAY_URL` when set (the compose stack), otherwise
 * a fresh one started here by the process runner (`npm run stack`) on shifted ports, with its own
 * databases and Redis prefix, stopped and dropped afterwards.
 */
export async function startStack(t: { teardown(fn: () => unknown): void }, options: StackOptions = {}): Promise<RunningStack> {
  if (process.env.GATEWAY_URL) {
    return {
      gatewayUrl: process.env.GATEWAY_URL,
      metricsUrls: Object.fromEntries((process.env.METRICS_URLS ?? '').split(',').filter(Boolean).map((pair) => pair.split('=', 2) as [string, string])),
      admin: { email: process.env.ADMIN_EMAIL ?? 'admin@example.com', password: process.env.ADMIN_PASSWORD ?? 'dev-only-admin-password' },
    };
  }
  const name = `e2e_${randomBytes(3).toString('hex')}`;
  const offset = 10_000 + Math.floor(Math.random() * 500) * 10;
  const server = new URL(TEST_DATABASE_URL);
  server.pathname = '';
  const runner: ChildProcess = spawn(process.execPath, ['--import=tsx', 'scripts/stack.ts'], {
    cwd: new URL('../../../', import.meta.url).pathname,
    env: {
      ...process.env,
      STACK_NAME_PREFIX: name,
      STACK_PORT_OFFSET: String(offset),
      STACK_POSTGRES_URL: server.toString().replace(/\/$/, ''),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  runner.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  runner.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  t.teardown(async () => {
    if (runner.exitCode === null) {
      runner.kill('SIGINT');
      await new Promise((resolve) => runner.once('exit', resolve));
    }
    for (const service of ['auth', 'catalog', 'orders', 'recommendations']) {
      const url = new URL(TEST_DATABASE_URL);
      url.pathname = `/${name}_${service}`;
      await dropDatabase(url.toString()).catch(() => undefined);
    }
    await deleteKeysWithPrefix(`${name}:`);
  });

  const gatewayUrl = `http://127.0.0.1:${8080 + offset}`;
  // Generous: five services migrating and starting at once on a small, shared machine take over a minute.
  const deadline = Date.now() + 180_000;
  for (;;) {
    const ready = await fetch(`${gatewayUrl}/health/ready`).then((response) => response.ok, () => false);
    if (ready) {
      const metricsUrls = Object.fromEntries(Object.entries(METRICS_PORTS).map(([service, port]) => [service, `http://127.0.0.1:${port + offset}/metrics`]));
      return { gatewayUrl, admin: ADMIN, metricsUrls };
    }
    if (runner.exitCode !== null || Date.now() > deadline) throw new Error(`the stack did not become ready:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
