import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dropDatabase } from '@shop/db';
import { waitFor } from '@shop/testing';

export const SERVICES = ['auth', 'catalog', 'orders', 'recommendations', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];
const BASE_PORTS: Record<ServiceName, number> = { auth: 3001, catalog: 3002, orders: 3003, recommendations: 3004, gateway: 8080 };
const WITH_DATABASE: ServiceName[] = ['auth', 'catalog', 'orders', 'recommendations'];

export interface CompiledStackOptions {
  root: string;
  /** postgres://user@host:port, no database. */
  serverUrl: string;
  redisUrl: string;
  name: string;
  portOffset: number;
  admin: { email: string; password: string };
  /** Node options for the services alone (`--cpu-prof --cpu-prof-dir=…`). */
  serviceNodeArgs?: string;
  /** More environment for every service (rate limits). */
  env?: Record<string, string>;
}

export interface CompiledStack {
  gatewayUrl: string;
  pids: ReadonlyMap<ServiceName, number>;
  /** The process runner, which relays the services' logs (at the images' level, info) to its output. */
  runnerPid: number;
  /** Stops every service gracefully (profiles are written then) and drops the databases. */
  stop(): Promise<void>;
}

/**
 * The stack as the images run it: the process runner (`scripts/stack.ts`) with `STACK_COMPILED`,
 * which bundles each service and starts `node dist/apps/<name>/main.js` with NODE_ENV=production,
 * on databases and ports of its own, logging as the images do (LOG_LEVEL info). The runner prints each service's pid, which is how the
 * benchmark reads their CPU time and memory.
 */
export async function startCompiledStack(options: CompiledStackOptions): Promise<CompiledStack> {
  const databaseUrl = (service: ServiceName) => `${options.serverUrl}/${options.name}_${service}`;
  // A fresh start: nothing left from an earlier run (outbox rows, streams) to flatter or burden this one.
  for (const service of WITH_DATABASE) await dropDatabase(databaseUrl(service)).catch(() => undefined);
  const runner: ChildProcess = spawn(process.execPath, ['--import=tsx', 'scripts/stack.ts'], {
    cwd: options.root,
    env: {
      ...process.env,
      STACK_COMPILED: 'true',
      STACK_NAME_PREFIX: options.name,
      STACK_PORT_OFFSET: String(options.portOffset),
      STACK_POSTGRES_URL: options.serverUrl,
      STACK_SERVICE_NODE_ARGS: options.serviceNodeArgs ?? '',
      REDIS_URL: options.redisUrl,
      ADMIN_EMAIL: options.admin.email,
      ADMIN_PASSWORD: options.admin.password,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const pids = new Map<ServiceName, number>();
  const onOutput = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    for (const match of chunk.toString().matchAll(/stack: (\w+) started \(pid (\d+)\)/g)) pids.set(match[1] as ServiceName, Number(match[2]));
  };
  runner.stdout?.on('data', onOutput);
  runner.stderr?.on('data', onOutput);
  const runnerExited = new Promise<void>((resolve) => runner.once('exit', () => resolve()));

  const stop = async () => {
    if (runner.exitCode === null) {
      runner.kill('SIGINT');
      await runnerExited;
    }
    for (const service of WITH_DATABASE) await dropDatabase(databaseUrl(service)).catch(() => undefined);
    rmSync(`${options.root}.dev/${options.name}-jwt-private.pem`, { force: true });
  };
  const gatewayUrl = `http://127.0.0.1:${BASE_PORTS.gateway + options.portOffset}`;
  const ready = (url: string) => fetch(url, { signal: AbortSignal.timeout(2_000) }).then((response) => response.ok, () => false);
  try {
    for (const service of SERVICES) {
      await waitFor(`${service} ready`, () => {
        if (runner.exitCode !== null) throw new Error('the process runner exited');
        return ready(`http://127.0.0.1:${BASE_PORTS[service] + options.portOffset}/health/ready`);
      }, 300_000);
    }
    if (pids.size !== SERVICES.length) throw new Error(`pids of ${SERVICES.filter((service) => !pids.has(service)).join(', ')} not printed`);
  } catch (error) {
    await stop();
    throw new Error(`the stack did not start: ${(error as Error).message}\n${output}`);
  }
  return { gatewayUrl, pids, runnerPid: runner.pid!, stop };
}
