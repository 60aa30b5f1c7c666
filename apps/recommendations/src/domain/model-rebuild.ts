import { withTransaction } from '@shop/db';
import type { DataSource } from 'typeorm';
import { ORDER_WEIGHT_SQL } from './order-counting';

export interface RebuildReport {
  countedOrders: number;
  products: number;
  pairs: number;
  durationMs: number;
}

/**
 * Recomputes the whole model from the stored order facts, set-based: what the incremental path
 * reaches one order at a time, as a handful of aggregates. Use it after changing the popularity
 * half-life, after restoring the facts from a replay of the orders stream, or to check the counts.
 *
 * One transaction: readers keep the old model until it commits, and the consumer waits on the
 * tables' locks meanwhile, so no event falls between the recount and the commit.
 */
export async function rebuildModel(db: DataSource, halfLifeSeconds: number): Promise<RebuildReport> {
  const started = performance.now();
  return withTransaction(db, async (manager) => {
    await manager.query(`LOCK TABLE order_facts, user_items, user_pairs, item_stats, pair_counts IN ACCESS EXCLUSIVE MODE`);
    await manager.query(`TRUNCATE user_items, user_pairs, item_stats, pair_counts`);
    await manager.query(`UPDATE order_facts SET weight = ${ORDER_WEIGHT_SQL('confirmed_at', '$1::double precision')} WHERE counted`, [halfLifeSeconds]);
    await manager.query(
      `INSERT INTO user_items (user_id, product_id, orders)
       SELECT user_id, p, count(*) FROM order_facts, unnest(product_ids) AS p WHERE counted GROUP BY user_id, p`,
    );
    await manager.query(
      `INSERT INTO item_stats (product_id, customers, popularity)
       SELECT p, count(DISTINCT user_id), sum(weight::numeric) FROM order_facts, unnest(product_ids) AS p WHERE counted GROUP BY p`,
    );
    await manager.query(
      `INSERT INTO user_pairs (user_id, product_id, other_id, orders)
       SELECT user_id, a, b, count(*) FROM order_facts, unnest(product_ids) AS a, unnest(product_ids) AS b
       WHERE counted AND a < b GROUP BY user_id, a, b`,
    );
    await manager.query(
      `INSERT INTO pair_counts (product_id, other_id, customers)
       SELECT product_id, other_id, count(*) FROM user_pairs GROUP BY product_id, other_id
       UNION ALL
       SELECT other_id, product_id, count(*) FROM user_pairs GROUP BY product_id, other_id`,
    );
    const [counts] = await manager.query(
      `SELECT (SELECT count(*) FROM order_facts WHERE counted)::int AS orders, (SELECT count(*) FROM item_stats)::int AS products,
              (SELECT count(*) FROM pair_counts)::int / 2 AS pairs`,
    );
    return { countedOrders: counts.orders, products: counts.products, pairs: counts.pairs, durationMs: performance.now() - started };
  });
}
