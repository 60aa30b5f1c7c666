/**
 * What the gateway's benchmarks share: child processes started from the repository (and stopped
 * at clean-up), free ports, a process's CPU time, and the catalog they put behind the gateway.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, createTestRedisPrefix, TEST_REDIS_URL } from '@shop/testing';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Run in reverse order by `cleanUp`: what was started last stops first. */
export const cleanups: (() => Promise<unknown> | unknown)[] = [];
export async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** User + system CPU of a process so far, in ms (Linux: /proc/<pid>/stat, in clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * A script of the repository under tsx, stopped with SIGTERM at clean-up; its stderr is shown if it
 * fails. `profile` writes a V8 CPU profile to BENCH_PROFILE_DIR when that is set.
 */
export function start(name: string, script: string, env: Record<string, string>, { profile = false } = {}): ChildProcess {
  const profiling = profile && process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profiling, '--import=tsx', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`${name} exited with ${code}:\n${stderr}\n`);
  });
  stopAtCleanUp(child, 'SIGTERM');
  return child;
}

/** At clean-up, the signal that stops the child gracefully, and then wait for it to exit. */
export function stopAtCleanUp(child: ChildProcess, signal: NodeJS.Signals): void {
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  });
}

/** A script of the repository under tsx, run to its end (a migration). */
export async function run(script: string, env: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, ['--import=tsx', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${script} exited with ${String(code)}`);
}

export async function waitForHealth(url: string, child?: ChildProcess): Promise<void> {
  // Generous: on a loaded machine a process that loads the OpenTelemetry SDK takes a while to start.
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${url}: the process exited`);
    const ok = await fetch(`${url}/health`).then((response) => response.ok, () => false);
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`${url} did not become healthy`);
}

/** The real catalog on a fresh database of its own, with one product created through its API. */
export async function startRealCatalog(jwksUrl: string, adminToken: string): Promise<{ url: string; productId: string }> {
  const database = await createTestDatabase('bench_catalog');
  cleanups.push(() => database.drop());
  const redis = createTestRedisPrefix('bench_catalog');
  cleanups.push(() => redis.clear());
  const port = await freePort();
  const env = { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, AUTH_JWKS_URL: jwksUrl, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' };
  await run('apps/catalog/src/migrate.ts', env);
  const child = start('catalog', 'apps/catalog/src/main.ts', env);
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, child);
  const created = await fetch(`${url}/v1/products`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sku: 'BENCH-TEA-1', name: 'Sencha, first flush', description: 'A green tea from Shizuoka.', priceCents: 1_250, currency: 'USD', tags: ['tea', 'green'], stock: 100 }),
  });
  if (created.status !== 201) throw new Error(`could not create the product: ${created.status} ${await created.text()}`);
  return { url, productId: ((await created.json()) as { id: string }).id };
}

/** A stand-in with the same answer as the catalog's (bench/catalog-stand-in.ts), in its own process. */
export async function startStandInCatalog(): Promise<{ url: string; productId: string }> {
  const port = await freePort();
  const child = start('catalog stand-in', 'apps/gateway/bench/catalog-stand-in.ts', { PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, child);
  return { url, productId: '0b6f2c1e-6a7d-4f55-9a63-2f4c1d7e9b10' };
}
