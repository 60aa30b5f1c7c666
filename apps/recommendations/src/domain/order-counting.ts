import type { EntityManager } from 'typeorm';
import { POPULARITY_EPOCH_SECONDS } from './model-settings';

/**
 * The incremental path of the model: one confirmed order counted, one cancelled order withdrawn,
 * each as a single statement in the consumer's transaction (which also records the event as
 * processed), so an event is applied whole or not at all.
 *
 * Counts are of distinct customers, as in Linden, Smith and York's item-to-item filtering, where
 * an item is the vector of customers who bought it: a customer joins n(i) with their first counted
 * order holding i, and c(i, j) with their first counted order holding both; a withdrawal undoes
 * exactly that. Popularity is a sum of per-order weights kept as `numeric`, so additions and
 * withdrawals in any order give the same sum to the last digit (floating point would not).
 */

export interface ConfirmedOrder {
  orderId: string;
  userId: string;
  productIds: readonly string[];
  confirmedAt: string;
}

/**
 * An order's popularity weight, 2^((t - epoch) / half-life): relative weights are what a decay
 * with that half-life gives, without rewriting every product as time passes. Computed by
 * PostgreSQL, in the rebuild too, so both paths get the same bits.
 */
export const ORDER_WEIGHT_SQL = (confirmedAt: string, halfLife: string) =>
  `power(2::double precision, (extract(epoch FROM ${confirmedAt}) - ${POPULARITY_EPOCH_SECONDS}) / ${halfLife})`;

/** Distinct products, sorted: one order line per product is the contract, but a reader never relies on it. */
export function distinctProducts(productIds: readonly string[]): string[] {
  return [...new Set(productIds)].sort();
}

/**
 * Counts a confirmed order once. An order already known (a duplicate, or one cancelled before its
 * confirmation arrived) changes nothing. Returns whether it was counted.
 */
export async function countOrder(manager: EntityManager, order: ConfirmedOrder, halfLifeSeconds: number): Promise<boolean> {
  const [result] = await manager.query(
    `WITH fact AS (
       INSERT INTO order_facts (order_id, user_id, product_ids, confirmed_at, weight, counted)
       VALUES ($1, $2, $3::uuid[], $4::timestamptz, ${ORDER_WEIGHT_SQL('$4::timestamptz', '$5::double precision')}, true)
       ON CONFLICT (order_id) DO NOTHING
       RETURNING user_id, product_ids, weight
     ), bought AS (
       INSERT INTO user_items AS u (user_id, product_id, orders)
       SELECT f.user_id, p, 1 FROM fact f, unnest(f.product_ids) AS p
       ON CONFLICT (user_id, product_id) DO UPDATE SET orders = u.orders + 1
       RETURNING product_id, orders
     ), items AS (
       INSERT INTO item_stats AS s (product_id, category_id, customers, popularity)
       SELECT b.product_id, (SELECT category_id FROM products WHERE id = b.product_id), (b.orders = 1)::int, f.weight::numeric FROM bought b, fact f
       ON CONFLICT (product_id) DO UPDATE SET customers = s.customers + excluded.customers, popularity = s.popularity + excluded.popularity
       RETURNING 1
     ), paired AS (
       INSERT INTO user_pairs AS up (user_id, product_id, other_id, orders)
       SELECT f.user_id, a, b, 1 FROM fact f, unnest(f.product_ids) AS a, unnest(f.product_ids) AS b WHERE a < b
       ON CONFLICT (user_id, product_id, other_id) DO UPDATE SET orders = up.orders + 1
       RETURNING product_id, other_id, orders
     ), pairs AS (
       INSERT INTO pair_counts AS pc (product_id, other_id, customers)
       SELECT product_id, other_id, 1 FROM paired WHERE orders = 1
       UNION ALL
       SELECT other_id, product_id, 1 FROM paired WHERE orders = 1
       ON CONFLICT (product_id, other_id) DO UPDATE SET customers = pc.customers + 1
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM fact)::int AS counted, (SELECT count(*) FROM items)::int AS items, (SELECT count(*) FROM pairs)::int AS pairs`,
    [order.orderId, order.userId, distinctProducts(order.productIds), order.confirmedAt, halfLifeSeconds],
  );
  return result.counted === 1;
}

/**
 * Withdraws exactly what a counted order added. An order never counted is remembered as cancelled,
 * so that a confirmation arriving after its cancellation is not counted. Returns whether anything
 * was withdrawn.
 */
export async function withdrawOrder(manager: EntityManager, orderId: string, userId: string): Promise<boolean> {
  // Rows a withdrawal empties are deleted rather than left at zero, so the tables hold exactly
  // what the rebuild would write. DELETE and UPDATE touch disjoint rows (orders = 1 / > 1).
  const [result] = await manager.query(
    `WITH fact AS (
       UPDATE order_facts SET counted = false WHERE order_id = $1 AND counted
       RETURNING user_id, product_ids, weight
     ), items_gone AS (
       DELETE FROM user_items u USING fact f
       WHERE u.user_id = f.user_id AND u.product_id = ANY (f.product_ids) AND u.orders = 1
       RETURNING u.product_id
     ), items_kept AS (
       UPDATE user_items u SET orders = u.orders - 1 FROM fact f
       WHERE u.user_id = f.user_id AND u.product_id = ANY (f.product_ids) AND u.orders > 1
       RETURNING u.product_id
     ), stats_gone AS (
       DELETE FROM item_stats s
       WHERE s.product_id IN (SELECT product_id FROM items_gone) AND s.customers = 1
       RETURNING s.product_id
     ), stats_kept AS (
       UPDATE item_stats s
       SET customers = s.customers - (s.product_id IN (SELECT product_id FROM items_gone))::int, popularity = s.popularity - f.weight::numeric
       FROM fact f
       WHERE s.product_id = ANY (f.product_ids) AND s.product_id NOT IN (SELECT product_id FROM stats_gone)
       RETURNING 1
     ), pairs_of_order AS (
       SELECT f.user_id, a AS product_id, b AS other_id FROM fact f, unnest(f.product_ids) AS a, unnest(f.product_ids) AS b WHERE a < b
     ), user_pairs_gone AS (
       DELETE FROM user_pairs up USING pairs_of_order o
       WHERE up.user_id = o.user_id AND up.product_id = o.product_id AND up.other_id = o.other_id AND up.orders = 1
       RETURNING up.product_id, up.other_id
     ), user_pairs_kept AS (
       UPDATE user_pairs up SET orders = up.orders - 1 FROM pairs_of_order o
       WHERE up.user_id = o.user_id AND up.product_id = o.product_id AND up.other_id = o.other_id AND up.orders > 1
       RETURNING 1
     ), directed_gone AS (
       SELECT product_id, other_id FROM user_pairs_gone UNION ALL SELECT other_id, product_id FROM user_pairs_gone
     ), pairs_gone AS (
       DELETE FROM pair_counts pc USING directed_gone g
       WHERE pc.product_id = g.product_id AND pc.other_id = g.other_id AND pc.customers = 1
       RETURNING 1
     ), pairs_kept AS (
       UPDATE pair_counts pc SET customers = pc.customers - 1 FROM directed_gone g
       WHERE pc.product_id = g.product_id AND pc.other_id = g.other_id AND pc.customers > 1
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM fact)::int AS withdrawn,
            (SELECT count(*) FROM items_kept)::int + (SELECT count(*) FROM stats_kept)::int + (SELECT count(*) FROM user_pairs_kept)::int
              + (SELECT count(*) FROM pairs_gone)::int + (SELECT count(*) FROM pairs_kept)::int AS touched`,
    [orderId],
  );
  if (result.withdrawn === 1) return true;
  await manager.query(
    `INSERT INTO order_facts (order_id, user_id, product_ids, confirmed_at, weight, counted)
     VALUES ($1, $2, '{}', NULL, 0, false) ON CONFLICT (order_id) DO NOTHING`,
    [orderId, userId],
  );
  return false;
}
