import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dropDatabase } from '@shop/db';
import { startPrivateRedis, TEST_DATABASE_URL, waitFor, type PrivateRedis, type Teardown } from '@shop/testing';

export type ServiceName = 'auth' | 'catalog' | 'orders' | 'gateway';

export interface FaultStack {
  gatewayUrl: string;
  gatewayPort: number;
  admin: { email: string; password: string };
  redis: PrivateRedis;
  /** Sends a signal to one service's process; the runner starts it again, as a supervisor would. */
  signal(service: ServiceName, signal: NodeJS.Signals): Promise<{ exitedAfterMs: number; exitCode: string }>;
  /** Waits until the service answers ready again (and the gateway sees every upstream ready). */
  waitUntilReady(service: ServiceName, timeoutMs?: number): Promise<void>;
  /** The runner's last lines, for a failure message. */
  output(): string;
}

const ADMIN = { email: 'fault-admin@example.test', password: 'fault-admin-password' };
const BASE_PORTS: Record<ServiceName, number> = { auth: 3001, catalog: 3002, orders: 3003, gateway: 8080 };

/**
 * The whole stack as separate processes (the process runner, `scripts/stack.ts`), on shifted
 * ports, with databases of its own and its OWN redis-server, so the suite may kill Redis and
 * services without disturbing anyone. The runner restarts a service that exits
 * (`STACK_RESTART_EXITED`) and prints each one's pid, which is how the suite aims its signals.
 */
export async function startFaultStack(t: Teardown): Promise<FaultStack> {
  const redis = await startPrivateRedis(t);
  const name = `fault_${randomBytes(3).toString('hex')}`;
  const offset = 20_000 + Math.floor(Math.random() * 400) * 10;
  const port = (service: ServiceName) => BASE_PORTS[service] + offset;
  const server = new URL(TEST_DATABASE_URL);
  server.pathname = '';
  const root = new URL('../../../', import.meta.url).pathname;
  const runner: ChildProcess = spawn(process.execPath, ['--import=tsx', 'scripts/stack.ts'], {
    cwd: root,
    env: {
      ...process.env,
      STACK_NAME_PREFIX: name,
      STACK_PORT_OFFSET: String(offset),
      STACK_POSTGRES_URL: server.toString().replace(/\/$/, ''),
      STACK_RESTART_EXITED: 'true',
      REDIS_URL: redis.url,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'warn',
      // The load is one client: the limits would stop it before any fault does.
      RATE_LIMIT_MAX: '1000000',
      RATE_LIMIT_ANONYMOUS_MAX: '1000000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const pids = new Map<ServiceName, number>();
  const exits = new Map<number, (exitCode: string) => void>();
  const onOutput = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-40_000);
    for (const match of chunk.toString().matchAll(/stack: (\w+) started \(pid (\d+)\)/g)) pids.set(match[1] as ServiceName, Number(match[2]));
    for (const match of chunk.toString().matchAll(/stack: (\w+) exited \((\w+)\)/g)) {
      const pid = pids.get(match[1] as ServiceName);
      if (pid !== undefined) exits.get(pid)?.(match[2]!);
    }
  };
  runner.stdout?.on('data', onOutput);
  runner.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-40_000)));
  t.teardown(async () => {
    if (runner.exitCode === null) {
      runner.kill('SIGINT');
      await new Promise((resolve) => runner.once('exit', resolve));
    }
    for (const service of ['auth', 'catalog', 'orders']) {
      const url = new URL(TEST_DATABASE_URL);
      url.pathname = `/${name}_${service}`;
      await dropDatabase(url.toString()).catch(() => undefined);
    }
    rmSync(`${root}.dev/${name}-jwt-private.pem`, { force: true });
  });

  const gatewayUrl = `http://127.0.0.1:${port('gateway')}`;
  const ready = (url: string) => fetch(url, { signal: AbortSignal.timeout(2_000) }).then((response) => response.ok, () => false);
  const waitUntilReady = async (service: ServiceName, timeoutMs = 300_000) => {
    await waitFor(`${service} ready`, () => ready(`http://127.0.0.1:${port(service)}/health/ready`), timeoutMs);
    await waitFor('the gateway ready', () => ready(`${gatewayUrl}/health/ready`), timeoutMs);
  };
  try {
    await waitUntilReady('gateway', 600_000);
  } catch (error) {
    throw new Error(`the stack did not become ready: ${(error as Error).message}\n${output}`);
  }

  return {
    gatewayUrl,
    gatewayPort: port('gateway'),
    admin: ADMIN,
    redis,
    output: () => output,
    signal: async (service, signal) => {
      const pid = pids.get(service);
      if (pid === undefined) throw new Error(`no pid for ${service}`);
      const exited = new Promise<string>((resolve) => exits.set(pid, resolve));
      const sentAt = Date.now();
      process.kill(pid, signal);
      const exitCode = await exited;
      exits.delete(pid);
      return { exitedAfterMs: Date.now() - sentAt, exitCode };
    },
    waitUntilReady,
  };
}
