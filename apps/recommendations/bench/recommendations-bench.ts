/**
 * The recommendation model at scale (Nx target `bench`): 100k products and 1M order lines by
 * default. Prints figures beside their targets; it is not a test and asserts nothing.
 *
 *   npx nx bench recommendations        BENCH_PRODUCTS=100000 BENCH_ORDER_LINES=1000000 by default
 *
 * It creates a database of its own, bulk-loads products and order facts with set-based SQL
 * (orders drawn from groups of products bought together, plus noise), builds the model with the
 * rebuild command's code, then measures, in this process:
 *   - a read at the service: `app.inject` through routing, validation, the model's SQL and
 *     serialisation (no network), one request at a time;
 *   - the model update for one confirmed 5-item order: the statement's time in its transaction,
 *     as the client sees it (an upper bound of the database's own time);
 *   - the rebuild's duration.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { createDataSource, dropDatabase, ensureDatabase, runMigrations, withTransaction } from '@shop/db';
import { loadConfig } from '@shop/service-kit';
import { createTestTokenIssuer, deleteKeysWithPrefix } from '@shop/testing';
import { buildApp } from '../src/app';
import { RecommendationsConfigSchema } from '../src/config';
import { recommendationsSchema } from '../src/database';
import { rebuildModel } from '../src/domain/model-rebuild';
import { countOrder, withdrawOrder } from '../src/domain/order-counting';

const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 100_000);
const ORDER_LINES = Number(process.env.BENCH_ORDER_LINES ?? 1_000_000);
const READS = Number(process.env.BENCH_READS ?? 2_000);
const UPDATES = Number(process.env.BENCH_UPDATES ?? 300);
const GROUP_SIZE = 20;
const LINES_PER_ORDER = 5;
const USERS = Math.max(1, Math.round(ORDER_LINES / LINES_PER_ORDER / 4));
const HALF_LIFE_SECONDS = 14 * 86_400;
const TARGETS = { readP99Ms: 5, updateP99Ms: 2 };

/** Product and user ids from integers, so the SQL generator and this script agree on them. */
const uuidOf = (value: number) => `00000000-0000-4000-8000-${value.toString(16).padStart(12, '0')}`;
const USER_BASE = 1_000_000_000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const ms = (value: number) => `${value.toFixed(2)} ms`;

async function main(): Promise<void> {
  const name = `bench_reco_${randomBytes(3).toString('hex')}`;
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const redisPrefix = `${name}:`;
  await ensureDatabase(databaseUrl);
  const db = createDataSource({ url: databaseUrl, ...recommendationsSchema, statementTimeoutMs: 0 });
  try {
    await runMigrations({ url: databaseUrl, ...recommendationsSchema });
    await db.initialize();
    const groups = Math.floor(PRODUCTS / GROUP_SIZE);
    const orders = Math.round(ORDER_LINES / LINES_PER_ORDER);
    process.stdout.write(`recommendations bench: ${PRODUCTS} products, ${orders} orders of ${LINES_PER_ORDER} lines, ${USERS} customers; ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(1)}\n`);

    let started = performance.now();
    await db.query(`CREATE FUNCTION pg_temp.uuid_of(value bigint) RETURNS uuid IMMUTABLE LANGUAGE sql AS $$ SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(value), 12, '0'))::uuid $$`);
    await db.query(
      `INSERT INTO products (id, sku, name, description, price_cents, currency, category_id, tags, stock, version, created_at, updated_at)
       SELECT pg_temp.uuid_of(i), 'SKU-' || i, 'Product ' || i, NULL, 100 + i % 10000, 'USD', pg_temp.uuid_of(900000000 + (i / ${GROUP_SIZE}) % 100), '{}',
              CASE WHEN i % 20 = 7 THEN 0 ELSE 50 END, 1, now(), now()
       FROM generate_series(0, $1 - 1) AS i`,
      [PRODUCTS],
    );
    // Each order: 4 distinct products of one group (bought together; a group is in one category, and
    // groups are skewed, a few bought often, most rarely) and 1 product anywhere (noise).
    await db.query(`SELECT setseed(0.42)`);
    await db.query(
      `INSERT INTO order_facts (order_id, user_id, product_ids, confirmed_at, weight, counted)
       SELECT pg_temp.uuid_of(2000000000 + o), pg_temp.uuid_of($4 + floor(random() * $3)::bigint),
              ARRAY(SELECT DISTINCT pg_temp.uuid_of(p) FROM unnest(ARRAY[
                g.base + (g.start) % ${GROUP_SIZE}, g.base + (g.start + 3) % ${GROUP_SIZE}, g.base + (g.start + 7) % ${GROUP_SIZE},
                g.base + (g.start + 11) % ${GROUP_SIZE}, floor(random() * $2)::bigint]) AS p ORDER BY 1),
              now() - random() * interval '90 days', 0, true
       FROM generate_series(0, $1 - 1) AS o,
            LATERAL (SELECT (floor(power(random(), 3) * ${groups}) + o * 0)::bigint * ${GROUP_SIZE} AS base, floor(random() * ${GROUP_SIZE})::bigint AS start) AS g`,
      [orders, PRODUCTS, USERS, USER_BASE],
    );
    const [{ lines }] = await db.query(`SELECT sum(cardinality(product_ids))::int AS lines FROM order_facts`);
    process.stdout.write(`loaded ${lines} order lines in ${Math.round(performance.now() - started)} ms\n`);

    started = performance.now();
    const report = await rebuildModel(db, HALF_LIFE_SECONDS);
    const rebuildMs = performance.now() - started;
    await db.query(`ANALYZE`);
    process.stdout.write(`rebuild: ${report.countedOrders} orders → ${report.products} products, ${report.pairs} pairs; steps (ms) ${JSON.stringify(report.steps)}\n`);

    const issuer = await createTestTokenIssuer();
    const config = loadConfig(RecommendationsConfigSchema, {
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      REDIS_KEY_PREFIX: redisPrefix,
      LOG_LEVEL: 'warn',
      EVENTS_CONSUMER_NAME: `bench-${randomUUID()}`,
    });
    const app = await buildApp(config, { verificationKeys: issuer.verificationKeys });
    await app.ready();
    const productLatencies: number[] = [];
    const customerLatencies: number[] = [];
    let empty = 0;
    try {
      for (let warm = 0; warm < 200; warm += 1) {
        await app.inject({ method: 'GET', url: `/v1/products/${uuidOf(Math.floor(Math.random() * PRODUCTS))}/recommendations` });
      }
      for (let index = 0; index < READS; index += 1) {
        const before = performance.now();
        const response = await app.inject({ method: 'GET', url: `/v1/products/${uuidOf(Math.floor(Math.random() * PRODUCTS))}/recommendations` });
        productLatencies.push(performance.now() - before);
        if (response.statusCode !== 200) throw new Error(`read failed: ${response.statusCode} ${response.body}`);
        if (response.json().items.length === 0) empty += 1;
      }
      const tokens = await Promise.all(
        Array.from({ length: Math.min(READS / 2, 500) }, () => issuer.tokenFor({ userId: uuidOf(USER_BASE + Math.floor(Math.random() * USERS)) })),
      );
      for (const token of tokens) {
        const before = performance.now();
        const response = await app.inject({ method: 'GET', url: '/v1/recommendations', headers: { authorization: `Bearer ${token}` } });
        customerLatencies.push(performance.now() - before);
        if (response.statusCode !== 200) throw new Error(`read failed: ${response.statusCode} ${response.body}`);
      }
    } finally {
      await app.close();
      await deleteKeysWithPrefix(redisPrefix);
    }

    const updateLatencies: number[] = [];
    const withdrawLatencies: number[] = [];
    for (let index = 0; index < UPDATES; index += 1) {
      const base = Math.floor(Math.random() * groups) * GROUP_SIZE;
      const productIds = [0, 3, 7, 11, 15].map((offset) => uuidOf(base + offset));
      const order = { orderId: randomUUID(), userId: uuidOf(USER_BASE + Math.floor(Math.random() * USERS)), productIds, confirmedAt: new Date().toISOString() };
      await withTransaction(db, async (manager) => {
        const before = performance.now();
        await countOrder(manager, order, HALF_LIFE_SECONDS);
        updateLatencies.push(performance.now() - before);
      });
      if (index % 3 === 0) {
        await withTransaction(db, async (manager) => {
          const before = performance.now();
          await withdrawOrder(manager, order.orderId, order.userId);
          withdrawLatencies.push(performance.now() - before);
        });
      }
    }

    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    const [reads, personal, updates, withdrawals] = [productLatencies, customerLatencies, updateLatencies, withdrawLatencies].map(sorted) as [number[], number[], number[], number[]];
    const row = (label: string, values: number[], target?: number) =>
      `${label.padEnd(46)} p50 ${ms(percentile(values, 50)).padStart(9)}  p99 ${ms(percentile(values, 99)).padStart(9)}` +
      (target === undefined ? '' : `   target p99 < ${target} ms: ${percentile(values, 99) < target ? 'met' : 'NOT met'}`);
    process.stdout.write(
      [
        '',
        row(`GET /v1/products/{id}/recommendations (${reads.length})`, reads, TARGETS.readP99Ms),
        row(`GET /v1/recommendations (${personal.length})`, personal, TARGETS.readP99Ms),
        row(`model update, one 5-item order (${updates.length})`, updates, TARGETS.updateP99Ms),
        row(`model withdrawal, one 5-item order (${withdrawals.length})`, withdrawals),
        `${'rebuild from 1 order facts table'.replace('1 ', `${report.countedOrders} `).padEnd(46)} ${(rebuildMs / 1000).toFixed(1)} s (no target; printed)`,
        `products read with an empty list: ${empty} of ${reads.length}`,
        '',
      ].join('\n'),
    );
  } finally {
    await db.destroy().catch(() => undefined);
    // BENCH_KEEP_DATABASE=1 leaves it for EXPLAIN ANALYZE; drop it by hand afterwards.
    if (process.env.BENCH_KEEP_DATABASE === '1') process.stdout.write(`kept ${databaseUrl}\n`);
    else await dropDatabase(databaseUrl);
  }
}

await main();
