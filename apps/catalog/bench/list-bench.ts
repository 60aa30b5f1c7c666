/**
 * List and item latency of the catalog at 100k products (Nx target `bench`). Prints figures; it is
 * not a test and asserts nothing, but it says whether the filtered-list target is met.
 *
 *   npx nx bench catalog          BENCH_PRODUCTS=100000 BENCH_SECONDS=3 by default
 *
 * It creates a database of its own, bulk-loads it with SQL, starts the service twice as separate
 * processes (cache on, cache off) so the load generator does not share their event loop, measures
 * with autocannon, and drops everything at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dropDatabase, ensureDatabase, runMigrations } from '@shop/db';
import { deleteKeysWithPrefix } from '@shop/testing';
import autocannon from 'autocannon';
import { Client } from 'undici';
import { catalogSchema } from '../src/database';
import { loadBenchCatalog, MATERIALS, NOUNS, TAGS } from './bench-data';

const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const TARGET_P99_MS = 10;
const WORKSPACE = fileURLToPath(new URL('../../../', import.meta.url));

const pick = <T>(values: readonly T[]): T => values[Math.floor(Math.random() * values.length)]!;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startService(env: Record<string, string>): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/catalog/src/main.ts'], {
    cwd: WORKSPACE,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
    const healthy = await fetch(`${base}/health/ready`).then((response) => response.ok, () => false);
    if (healthy) return { base, child };
    if (Date.now() > deadline) throw new Error('the service did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface Figures {
  p50: number;
  p99: number;
  rps: number;
  failed: number;
}

/**
 * Latency as one client sees it: requests one after another on a kept-alive connection, each timed
 * to the last byte of the body with a microsecond clock (autocannon's histogram has whole milliseconds).
 */
async function measure(base: string, nextPath: () => string, seconds = SECONDS): Promise<Figures> {
  const client = new Client(base);
  const samples: number[] = [];
  let failed = 0;
  const end = performance.now() + seconds * 1_000;
  try {
    while (performance.now() < end) {
      const started = performance.now();
      const response = await client.request({ method: 'GET', path: nextPath() });
      await response.body.text();
      samples.push(performance.now() - started);
      if (response.statusCode !== 200) failed++;
    }
  } finally {
    await client.close();
  }
  samples.sort((a, b) => a - b);
  const percentile = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? NaN;
  return { p50: percentile(0.5), p99: percentile(0.99), rps: samples.length / seconds, failed };
}

/** Throughput under concurrency, with autocannon. */
async function throughput(base: string, nextPath: () => string, connections: number, seconds: number): Promise<Figures> {
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: nextPath() }) }],
  });
  return { p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average, failed: result.non2xx + result.errors };
}

function row(label: string, figures: Figures, note = ''): string {
  const failures = figures.failed > 0 ? `  !! ${figures.failed} failed` : '';
  return `${label.padEnd(64)}${figures.p50.toFixed(2).padStart(8)}${figures.p99.toFixed(2).padStart(9)}${Math.round(figures.rps).toString().padStart(9)}  ${note}${failures}`;
}

const suffix = randomBytes(4).toString('hex');
const databaseUrl = Object.assign(new URL(POSTGRES_URL), { pathname: `/bench_catalog_${suffix}` }).toString();
const keyPrefix = `bench_catalog_${suffix}:`;
const children: ChildProcess[] = [];

try {
  await ensureDatabase(databaseUrl);
  await runMigrations({ url: databaseUrl, ...catalogSchema });
  const loadStarted = Date.now();
  const { categoryIds, productIds } = await loadBenchCatalog(databaseUrl, PRODUCTS);
  process.stdout.write(`loaded ${PRODUCTS.toLocaleString('en')} products in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s\n`);

  const common = { DATABASE_URL: databaseUrl, REDIS_URL, REDIS_KEY_PREFIX: keyPrefix };
  const cached = await startService({ ...common, CACHE_ENABLED: 'true' });
  const uncached = await startService({ ...common, CACHE_ENABLED: 'false' });
  children.push(cached.child, uncached.child);

  const band = () => {
    const min = 100 + Math.floor(Math.random() * 80_000);
    return `minPrice=${min}&maxPrice=${min + 20_000}`;
  };
  // Cursors deep into a filtered list, so paging costs are measured too (pages 2..50).
  const deepFilter = `categoryId=${categoryIds[3]}&inStock=true&sort=price&limit=20`;
  const deepPages: string[] = [];
  let cursor: string | null = null;
  for (let index = 0; index < 50; index++) {
    const response = await fetch(`${uncached.base}/v1/products?${deepFilter}${cursor ? `&cursor=${cursor}` : ''}`);
    cursor = ((await response.json()) as { nextCursor: string | null }).nextCursor;
    if (!cursor) break;
    deepPages.push(`/v1/products?${deepFilter}&cursor=${cursor}`);
  }

  const filtered: [string, () => string][] = [
    ['categoryId', () => `/v1/products?categoryId=${pick(categoryIds)}`],
    ['categoryId & inStock', () => `/v1/products?categoryId=${pick(categoryIds)}&inStock=true`],
    ['price band (20% of prices)', () => `/v1/products?${band()}`],
    ['categoryId & price band & inStock, sort=price', () => `/v1/products?categoryId=${pick(categoryIds)}&${band()}&inStock=true&sort=price`],
    ['inStock, sort=name', () => `/v1/products?inStock=true&sort=name`],
    ['categoryId & inStock, sort=-price, limit=100', () => `/v1/products?categoryId=${pick(categoryIds)}&inStock=true&sort=-price&limit=100`],
    ['deep pages (2-50) of categoryId & inStock, sort=price', () => pick(deepPages)],
  ];
  const searches: [string, () => string][] = [
    ['q=<one word> (~3% of products)', () => `/v1/products?q=${pick(NOUNS)}`],
    ['q=<material noun> (~0.2%)', () => `/v1/products?q=${pick(MATERIALS)}%20${pick(NOUNS)}`],
    ['q=<one word> & categoryId, sort=price', () => `/v1/products?q=${pick(NOUNS)}&categoryId=${pick(categoryIds)}&sort=price`],
    ['q=<tag> (~7%), sort=name', () => `/v1/products?q=${pick(TAGS)}&sort=name`],
  ];
  const sorts: [string, () => string][] = ['createdAt', '-createdAt', 'price', '-price', 'name', '-name'].map((sort) => [`sort=${sort}`, () => `/v1/products?sort=${sort}`]);

  // Warm up both processes (JIT, connection pools, PostgreSQL's buffers).
  await throughput(uncached.base, () => pick([...filtered, ...searches, ...sorts])[1](), 2, 3);
  await throughput(cached.base, () => `/v1/products/${pick(productIds)}`, 4, 2);

  const header = `${'GET /v1/products (cache off: every page from PostgreSQL)'.padEnd(64)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(9)}${'req/s'.padStart(9)}`;
  process.stdout.write(
    `\ncatalog list benchmark: ${PRODUCTS.toLocaleString('en')} products, one client, ${SECONDS} s per row, ` +
      `load average ${loadavg().map((value) => value.toFixed(1)).join(' ')} on ${availableParallelism()} cores, ${new Date().toISOString()}\n\n${header}\n`,
  );
  let worstFilteredP99 = 0;
  for (const [label, path] of filtered) {
    const figures = await measure(uncached.base, path);
    worstFilteredP99 = Math.max(worstFilteredP99, figures.p99);
    process.stdout.write(`${row(`filtered: ${label}`, figures)}\n`);
  }
  for (const [label, path] of searches) process.stdout.write(`${row(`search: ${label}`, await measure(uncached.base, path))}\n`);
  for (const [label, path] of sorts) process.stdout.write(`${row(`all products, ${label}`, await measure(uncached.base, path))}\n`);
  const cachedList = await measure(cached.base, () => `/v1/products?categoryId=${pick(categoryIds)}&inStock=true&sort=price`);
  process.stdout.write(`${row('cache on: categoryId & inStock, sort=price (hits)', cachedList)}\n`);
  process.stdout.write(
    `\ntarget: filtered list page p99 < ${TARGET_P99_MS} ms at ${PRODUCTS.toLocaleString('en')} products; ` +
      `worst filtered p99: ${worstFilteredP99.toFixed(2)} ms -> ${worstFilteredP99 < TARGET_P99_MS ? 'MET' : 'NOT MET'}\n`,
  );

  const item = () => `/v1/products/${pick(productIds)}`;
  const itemSeconds = Math.max(SECONDS, 5);
  const latencyHeader = `${'GET /v1/products/{id} (2,000 ids), one client'.padEnd(64)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(9)}${'req/s'.padStart(9)}`;
  process.stdout.write(`\n${latencyHeader}\n`);
  process.stdout.write(`${row('cached (Redis)', await measure(cached.base, item))}\n${row('uncached (PostgreSQL)', await measure(uncached.base, item))}\n`);
  const throughputHeader = `${`GET /v1/products/{id}, autocannon, 10 connections, ${itemSeconds} s`.padEnd(64)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(9)}${'req/s'.padStart(9)}`;
  process.stdout.write(`\n${throughputHeader}\n`);
  const itemCached = await throughput(cached.base, item, 10, itemSeconds);
  const itemUncached = await throughput(uncached.base, item, 10, itemSeconds);
  process.stdout.write(`${row('cached (Redis)', itemCached)}\n${row('uncached (PostgreSQL)', itemUncached)}\n`);
  process.stdout.write(`cached / uncached: ${(itemCached.rps / itemUncached.rps).toFixed(2)}x requests/s\n`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => (child.exitCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
  await dropDatabase(databaseUrl);
  await deleteKeysWithPrefix(keyPrefix);
}
