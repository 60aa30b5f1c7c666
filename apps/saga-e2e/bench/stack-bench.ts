/**
 * Orders at the database's speed: the whole stack as the images run it (compiled, one process per
 * service, `scripts/stack.ts` with STACK_COMPILED), on the local PostgreSQL and a Redis of its own.
 * Places orders through the gateway with `Prefer: wait=10` at concurrency 1, 16 and 64 and prints,
 * per level, confirmed orders/s, POST→confirmed p50/p99, what was not confirmed, and the CPU time
 * per confirmed order of each process (from /proc); pgbench's TPC-B tps on the same server in the
 * same run; each service's idle memory after start and after the load; every target beside its figure.
 *
 *   npm run bench
 *
 * BENCH_SECONDS (15) per level; BENCH_LEVELS (1,16,64); BENCH_PGBENCH=off skips pgbench;
 * BENCH_CPU_PROF=<dir> has each service write a V8 CPU profile there when the stack stops;
 * BENCH_NODE_ARGS adds Node options to every service (to compare settings).
 * A benchmark, not a test: figures depend on the machine and on what else runs (the load average
 * is printed with them).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrivateRedis } from '@shop/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startCompiledStack, SERVICES, type ServiceName } from './stack/compiled-stack';
import { percentile, placeOrders } from './stack/order-load';
import { pgbenchTps } from './stack/pgbench';
import { CpuMeter, loadAverage, residentMegabytesOf } from './stack/process-stats';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVER_URL = process.env.STACK_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const LEVELS = (process.env.BENCH_LEVELS ?? '1,16,64').split(',').map(Number);
const PRODUCTS = 50;
const CUSTOMERS = 16;
const ADMIN = { email: 'bench-admin@example.test', password: 'bench-admin-password' };
/** The services whose Node CPU per order the target is about: the path every order takes. */
const ORDER_PATH: ServiceName[] = ['gateway', 'orders', 'catalog'];

/**
 * Measured at the commit before the saga was made faster (README, "Benchmark": the median of three
 * runs): Node CPU ms per confirmed order, gateway + orders + catalog, per concurrency. The target is
 * a third of these.
 */
const BEFORE_NODE_CPU_MS: Record<number, number> = { 1: 14.38, 16: 10.29, 64: 11.88 };

const teardowns: (() => Promise<unknown>)[] = [];
const t = { teardown: (fn: () => unknown) => void teardowns.unshift(async () => fn()) };
const say = (line = '') => process.stdout.write(`${line}\n`);
const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const verdict = (met: boolean) => (met ? 'met' : 'NOT met');

async function call(baseUrl: string, method: string, path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function tokenOf(baseUrl: string, credentials: { email: string; password: string }): Promise<string> {
  const login = await call(baseUrl, 'POST', '/v1/auth/login', credentials);
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return String(login.body.accessToken);
}

/** The server processes of the connections to the stack's databases. */
async function backendPids(serverUrl: string, prefix: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres` });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname LIKE $1`, [`${prefix}\\_%`]);
    return rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

function residentMemory(pids: ReadonlyMap<ServiceName, number>): Map<ServiceName, number> {
  return new Map(SERVICES.map((service) => [service, residentMegabytesOf(pids.get(service)!)]));
}

try {
  say(`orders benchmark: ${new Date().toISOString()}, load average at start ${loadAverage()}`);
  const redis = await startPrivateRedis(t);
  const redisClient = new Redis(redis.url);
  const redisPid = Number(/process_id:(\d+)/.exec(await redisClient.info('server'))?.[1]);
  redisClient.disconnect();
  const profileDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const stack = await startCompiledStack({
    root: ROOT,
    serverUrl: SERVER_URL,
    redisUrl: redis.url,
    name: 'bench',
    portOffset: 40_000,
    admin: ADMIN,
    serviceNodeArgs: [process.env.BENCH_NODE_ARGS ?? '', profileDir ? `--cpu-prof --cpu-prof-dir=${profileDir}` : ''].join(' '),
    // One benchmark client is many orders from one address: the limits would cap it, not the services.
    env: { RATE_LIMIT_MAX: '100000000', RATE_LIMIT_ANONYMOUS_MAX: '100000000', RATE_LIMIT_LOGIN_MAX: '100000' },
  });
  t.teardown(() => stack.stop());
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const rssAfterStart = residentMemory(stack.pids);

  let tps = Number.NaN;
  if (process.env.BENCH_PGBENCH !== 'off') {
    say('pgbench: TPC-B, scale 10, 16 clients, 20 s, on the same server (the stack idle beside it)…');
    tps = await pgbenchTps({ serverUrl: SERVER_URL, database: 'bench_pgbench', scale: 10, clients: 16, seconds: 20 });
    say(`pgbench: ${fixed(tps)} tps (load average ${loadAverage()})`);
  }

  const gateway = stack.gatewayUrl;
  const adminToken = await tokenOf(gateway, ADMIN);
  const productIds: string[] = [];
  for (let index = 0; index < PRODUCTS; index += 1) {
    const created = await call(gateway, 'POST', '/v1/products', { sku: `BENCH-${index}-${Date.now()}`, name: `Bench product ${index}`, priceCents: 100 + index, stock: 100_000_000 }, adminToken);
    if (created.status !== 201) throw new Error(`product not created: ${created.status} ${JSON.stringify(created.body)}`);
    productIds.push(String(created.body.id));
  }
  const customerTokens: string[] = [];
  for (let index = 0; index < CUSTOMERS; index += 1) {
    const customer = { email: `bench-${index}-${Date.now()}@example.test`, password: 'correct horse battery' };
    const registered = await call(gateway, 'POST', '/v1/auth/register', { ...customer, name: `Bench ${index}` });
    if (registered.status !== 201) throw new Error(`customer not registered: ${registered.status} ${JSON.stringify(registered.body)}`);
    customerTokens.push(await tokenOf(gateway, customer));
  }
  say(`${PRODUCTS} products, ${CUSTOMERS} customers; warming up (5 s at concurrency 16)…`);
  await placeOrders({ gatewayUrl: gateway, concurrency: 16, seconds: 5, customerTokens, productIds, waitSeconds: 10 });

  const processes = new Map<string, number[]>([...[...stack.pids].map(([name, pid]) => [name, [pid]] as [string, number[]]), ['redis', [redisPid]], ['runner', [stack.runnerPid]]]);
  const results: { concurrency: number; perSecond: number; p50: number; p99: number; notConfirmed: number; nodeCpuMs: number }[] = [];
  say();
  say(`${SECONDS} s per level; every order one line, Idempotency-Key, Prefer: wait=10; CPU in ms per confirmed order`);
  say('postgres: the server processes serving the stack\'s databases (its connection pools)');
  say(['conc.', 'orders/s', 'p50 ms', 'p99 ms', 'not conf.', ...processes.keys(), 'postgres', 'client', 'node path', 'load avg'].map((title) => title.padStart(9)).join(' '));
  for (const concurrency of LEVELS) {
    const cpu = new CpuMeter(new Map([...processes, ['postgres', await backendPids(SERVER_URL, 'bench')]]));
    const clientCpuStart = process.cpuUsage();
    const run = await placeOrders({ gatewayUrl: gateway, concurrency, seconds: SECONDS, customerTokens, productIds, waitSeconds: 10 });
    const used = cpu.read();
    const clientCpu = process.cpuUsage(clientCpuStart);
    const perOrder = (ms: number) => ms / Math.max(1, run.confirmed);
    const nodeCpuMs = perOrder(ORDER_PATH.reduce((sum, service) => sum + used.get(service)!, 0));
    const notConfirmed = run.placed - run.confirmed;
    const row = [String(concurrency), fixed(run.confirmed / run.seconds), fixed(percentile(run.latencies, 50)), fixed(percentile(run.latencies, 99)), String(notConfirmed)];
    row.push(...[...used.values()].map((ms) => fixed(perOrder(ms), 2)), fixed(perOrder((clientCpu.user + clientCpu.system) / 1000), 2), fixed(nodeCpuMs, 2), loadAverage().split(' ')[0]!);
    say(row.map((cell) => cell.padStart(9)).join(' '));
    if (notConfirmed > 0) say(`          not confirmed: ${[...run.notConfirmed].map(([what, count]) => `${what} ×${count}`).join(', ')}`);
    results.push({ concurrency, perSecond: run.confirmed / run.seconds, p50: percentile(run.latencies, 50), p99: percentile(run.latencies, 99), notConfirmed, nodeCpuMs });
  }

  // Idle again: long enough for V8 to collect what the load left (its memory reducer acts after a few quiet seconds).
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const rssAfterLoad = residentMemory(stack.pids);
  say();
  say(`idle RSS, MB:      ${SERVICES.map((service) => service.padStart(15)).join(' ')}`);
  say(`  after start      ${SERVICES.map((service) => fixed(rssAfterStart.get(service)!).padStart(15)).join(' ')}`);
  say(`  after the load   ${SERVICES.map((service) => fixed(rssAfterLoad.get(service)!).padStart(15)).join(' ')}`);

  say();
  say('targets:');
  const level = (concurrency: number) => results.find((result) => result.concurrency === concurrency);
  const top = level(64);
  if (top) {
    const ratio = top.perSecond / tps;
    say(`  orders/s at c64 ≥ 0.2 × pgbench tps: ${fixed(top.perSecond)} / ${fixed(tps)} = ${fixed(ratio, 3)}  ${Number.isFinite(ratio) ? verdict(ratio >= 0.2) : '(pgbench skipped)'}`);
    say(`  p99 < 500 ms at c64: ${fixed(top.p99)} ms  ${verdict(top.p99 < 500)}`);
  }
  const single = level(1);
  if (single) say(`  p99 < 50 ms at c1: ${fixed(single.p99)} ms  ${verdict(single.p99 < 50)}`);
  for (const result of results) {
    const before = BEFORE_NODE_CPU_MS[result.concurrency];
    const comparison = before === undefined ? 'no before figure recorded' : `before ${fixed(before, 2)} ms, target ≤ ${fixed(before / 3, 2)} ms  ${verdict(result.nodeCpuMs <= before / 3)}`;
    say(`  Node CPU per confirmed order (${ORDER_PATH.join(' + ')}) at c${result.concurrency}: ${fixed(result.nodeCpuMs, 2)} ms; ${comparison}`);
  }
  for (const service of SERVICES) {
    const worst = Math.max(rssAfterStart.get(service)!, rssAfterLoad.get(service)!);
    say(`  idle RSS < 100 MB, ${service}: ${fixed(rssAfterStart.get(service)!)} after start, ${fixed(rssAfterLoad.get(service)!)} after the load  ${verdict(worst < 100)}`);
  }
  say(`load average at the end ${loadAverage()}`);
  // One line to compare runs by (alternating rounds of two builds).
  say(`summary ${JSON.stringify({ tps, levels: results, rssAfterStart: Object.fromEntries(rssAfterStart), rssAfterLoad: Object.fromEntries(rssAfterLoad) })}`);
} finally {
  for (const teardown of teardowns) await teardown().catch((error: unknown) => say(`teardown: ${String(error)}`));
}
