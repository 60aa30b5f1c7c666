import { withTransaction } from '@shop/db';
import type { DataSource } from 'typeorm';
import { ORDER_WEIGHT_SQL } from './order-counting';

export interface RebuildReport {
  countedOrders: number;
  products: number;
  pairs: number;
  durationMs: number;
  /** Milliseconds per step, for the command's output and the benchmark. */
  steps: Record<string, number>;
}

/**
 * Recomputes the whole model from the stored order facts, set-based: what the incremental path
 * reaches one order at a time, as a handful of aggregates. Use it after changing the popularity
 * half-life, after restoring the facts from a replay of the orders stream, or to check the counts.
 *
 * One transaction: readers keep the old model until it commits, and the consumer waits on the
 * tables' locks meanwhile, so no event falls between the recount and the commit. Rows go in in
 * key order, so the B-trees fill from left to right instead of splitting pages at random.
 */
export async function rebuildModel(db: DataSource, halfLifeSeconds: number): Promise<RebuildReport> {
  const started = performance.now();
  const steps: Record<string, number> = {};
  return withTransaction(db, async (manager) => {
    const step = async (name: string, sql: string, parameters: unknown[] = []) => {
      const before = performance.now();
      await manager.query(sql, parameters);
      steps[name] = Math.round(performance.now() - before);
    };
    // Sorts and hashes of a large history in memory rather than on disk; only for this transaction.
    await manager.query(`SET LOCAL work_mem = '256MB'`);
    await manager.query(`LOCK TABLE order_facts, user_items, user_pairs, item_stats, pair_counts IN ACCESS EXCLUSIVE MODE`);
    await step('truncate', `TRUNCATE user_items, user_pairs, item_stats, pair_counts`);
    await step(
      'weights',
      `UPDATE order_facts SET weight = ${ORDER_WEIGHT_SQL('confirmed_at', '$1::double precision')}
       WHERE counted AND weight IS DISTINCT FROM ${ORDER_WEIGHT_SQL('confirmed_at', '$1::double precision')}`,
      [halfLifeSeconds],
    );
    await step(
      'user_items',
      `INSERT INTO user_items (user_id, product_id, orders)
       SELECT user_id, p, count(*) FROM order_facts, unnest(product_ids) AS p WHERE counted GROUP BY user_id, p ORDER BY user_id, p`,
    );
    await step(
      'item_stats',
      `INSERT INTO item_stats (product_id, category_id, customers, popularity)
       SELECT x.product_id, pr.category_id, x.customers, x.popularity
       FROM (SELECT p AS product_id, count(DISTINCT user_id)::int AS customers, sum(weight::numeric) AS popularity
             FROM order_facts, unnest(product_ids) AS p WHERE counted GROUP BY p) AS x
       LEFT JOIN products pr ON pr.id = x.product_id
       ORDER BY x.product_id`,
    );
    await step(
      'user_pairs',
      `INSERT INTO user_pairs (user_id, product_id, other_id, orders)
       SELECT user_id, a, b, count(*) FROM order_facts, unnest(product_ids) AS a, unnest(product_ids) AS b
       WHERE counted AND a < b GROUP BY user_id, a, b ORDER BY user_id, a, b`,
    );
    await step(
      'pair_counts',
      `INSERT INTO pair_counts (product_id, other_id, customers)
       SELECT d.product_id, d.other_id, x.customers
       FROM (SELECT product_id, other_id, count(*)::int AS customers FROM user_pairs GROUP BY product_id, other_id) AS x
       CROSS JOIN LATERAL (VALUES (x.product_id, x.other_id), (x.other_id, x.product_id)) AS d (product_id, other_id)
       ORDER BY d.product_id, d.other_id`,
    );
    const [counts] = await manager.query(
      `SELECT (SELECT count(*) FROM order_facts WHERE counted)::int AS orders, (SELECT count(*) FROM item_stats)::int AS products,
              (SELECT count(*) FROM pair_counts)::int / 2 AS pairs`,
    );
    return { countedOrders: counts.orders, products: counts.products, pairs: counts.pairs, durationMs: performance.now() - started, steps };
  });
}
