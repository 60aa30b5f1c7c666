import { randomUUID } from 'node:crypto';
import { withTransaction } from '@shop/db';
import fc from 'fast-check';
import t from 'tap';
import type { DataSource } from 'typeorm';
import { rebuildModel } from '../../src/domain/model-rebuild';
import { countOrder, withdrawOrder } from '../../src/domain/order-counting';
import { DEFAULT_MODEL_SETTINGS } from '../../src/domain/model-settings';
import { Recommender } from '../../src/domain/recommender';
import { build } from '../helper';

const HALF_LIFE = DEFAULT_MODEL_SETTINGS.halfLifeSeconds;
const PRODUCTS = Array.from({ length: 6 }, (_, index) => `00000000-0000-4000-8000-00000000000${index}`);
const USERS = Array.from({ length: 4 }, (_, index) => `10000000-0000-4000-8000-00000000000${index}`);

/** Orders drawn from a small pool, so the same customers, products and orders meet often: duplicates and cancellations of unknown or already cancelled orders included. */
const steps = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('confirm' as const), order: fc.nat(9), user: fc.nat(USERS.length - 1), products: fc.uniqueArray(fc.nat(PRODUCTS.length - 1), { minLength: 1, maxLength: 4 }), day: fc.integer({ min: 0, max: 400 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), order: fc.nat(9) }) },
  ),
  { maxLength: 25 },
);

const MODEL_TABLES = {
  user_items: 'user_id, product_id',
  user_pairs: 'user_id, product_id, other_id',
  item_stats: 'product_id',
  pair_counts: 'product_id, other_id',
};

async function modelOf(db: DataSource) {
  const tables: Record<string, unknown[]> = {};
  for (const [table, key] of Object.entries(MODEL_TABLES)) {
    // popularity as text: numeric compared to the last digit (trim_scale: 1.50 and 1.5 are one value).
    tables[table] = await db.query(`SELECT *${table === 'item_stats' ? ', trim_scale(popularity)::text AS popularity' : ''} FROM ${table} ORDER BY ${key}`);
  }
  const recommender = new Recommender(db, { ...DEFAULT_MODEL_SETTINGS, minPairCustomers: 2, halfLifeSeconds: HALF_LIFE }, () => Date.UTC(2027, 0, 1));
  const reads: Record<string, unknown> = {};
  for (const product of PRODUCTS) reads[product] = await recommender.forProduct(product, 50);
  for (const user of USERS) reads[user] = await recommender.forCustomer(user, 50);
  return { tables, reads };
}

t.test('the rebuild from stored facts gives exactly what the incremental path maintained', async (t) => {
  const { app, shop } = await build(t);
  for (const id of PRODUCTS) await shop.product({ id });
  const db = app.db;
  const orderIds = Array.from({ length: 10 }, () => randomUUID());
  let runs = 0;
  let nonTrivial = 0;

  await fc.assert(
    fc.asyncProperty(steps, async (sequence) => {
      runs += 1;
      await db.query(`TRUNCATE order_facts, user_items, user_pairs, item_stats, pair_counts`);
      const users = new Map<number, number>();
      for (const step of sequence) {
        if (step.kind === 'confirm') {
          // An order id belongs to one customer: a redelivered confirmation names the same one.
          const user = users.get(step.order) ?? step.user;
          users.set(step.order, user);
          const confirmedAt = new Date(Date.UTC(2026, 0, 1) + step.day * 86_400_000).toISOString();
          await withTransaction(db, (manager) =>
            countOrder(manager, { orderId: orderIds[step.order]!, userId: USERS[user]!, productIds: step.products.map((index) => PRODUCTS[index]!), confirmedAt }, HALF_LIFE),
          );
        } else {
          const user = users.get(step.order) ?? 0;
          users.set(step.order, user);
          await withTransaction(db, (manager) => withdrawOrder(manager, orderIds[step.order]!, USERS[user]!));
        }
      }
      const incremental = await modelOf(db);
      if ((incremental.tables.pair_counts as unknown[]).length > 0) nonTrivial += 1;
      await rebuildModel(db, HALF_LIFE);
      const rebuilt = await modelOf(db);
      t.same(rebuilt, incremental);
      return true;
    }),
    { numRuns: 15, seed: 20261128 },
  );
  t.equal(runs, 15);
  t.ok(nonTrivial > 5, `most sequences left pairs to compare (${nonTrivial} of ${runs})`);
});

t.test('the rebuild follows a new half-life; the incremental path kept the old one', async (t) => {
  const { app, shop } = await build(t);
  const [a, b] = [await shop.product(), await shop.product()];
  await shop.order(randomUUID(), [a], new Date(Date.UTC(2026, 0, 15)));
  await shop.order(randomUUID(), [b], new Date(Date.UTC(2026, 0, 1)));
  const popularity = async () => (await app.db.query(`SELECT product_id, popularity::float8 AS p FROM item_stats ORDER BY product_id`)) as { product_id: string; p: number }[];
  const ratio = (rows: { product_id: string; p: number }[]) => rows.find((row) => row.product_id === a)!.p / rows.find((row) => row.product_id === b)!.p;
  t.equal(ratio(await popularity()).toFixed(9), (2).toFixed(9), '14 days apart at a 14-day half-life: twice the weight');
  const report = await rebuildModel(app.db, 7 * 86_400);
  t.match(report, { countedOrders: 2, products: 2, pairs: 0 });
  t.equal(ratio(await popularity()).toFixed(9), (4).toFixed(9), 'at 7 days: four times');
});
