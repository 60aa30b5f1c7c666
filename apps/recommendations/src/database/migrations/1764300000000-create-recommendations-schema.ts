import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The service's own view of the shop, learnt from events only:
 *
 * - `products`: the catalog's products as last announced (a tolerant reader of product events);
 *   `deleted` is a tombstone, so a late event never brings a deleted product back.
 * - `order_facts`: every confirmed order once, with its distinct products, and whether it still
 *   counts. The model is a function of the counted facts: the rebuild recomputes it from them.
 * - `user_items`, `user_pairs`: per customer, how many counted orders hold a product, a pair.
 *   They make "distinct customers" exact under cancellations: a customer joins a count when their
 *   first order with it counts and leaves when their last one is withdrawn.
 * - `item_stats`: n(i), the customers who bought i, and its time-weighted popularity, with the
 *   product's category copied in, so that "popular in this category" is one index range.
 * - `pair_counts`: c(i, j), the customers who bought i and j in one order, in both directions, so
 *   that a product's partners are one index range, most shared first.
 */
export class CreateRecommendationsSchema1764300000000 implements MigrationInterface {
  name = 'CreateRecommendationsSchema1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE products (
        id uuid PRIMARY KEY,
        sku text NOT NULL,
        name text NOT NULL,
        description text,
        price_cents integer NOT NULL,
        currency text NOT NULL,
        category_id uuid,
        tags text[] NOT NULL DEFAULT '{}',
        stock integer NOT NULL,
        version integer NOT NULL,
        created_at timestamptz(3) NOT NULL,
        updated_at timestamptz(3) NOT NULL,
        deleted boolean NOT NULL DEFAULT false
      )`);
    // Popular products of a category: only what may be recommended is indexed.
    await queryRunner.query(`CREATE INDEX products_recommendable_category_idx ON products (category_id) WHERE NOT deleted AND stock > 0`);
    await queryRunner.query(`
      CREATE TABLE order_facts (
        order_id uuid PRIMARY KEY,
        user_id uuid NOT NULL,
        product_ids uuid[] NOT NULL,
        confirmed_at timestamptz(3),
        weight double precision NOT NULL,
        counted boolean NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE user_items (
        user_id uuid NOT NULL,
        product_id uuid NOT NULL,
        orders integer NOT NULL CONSTRAINT user_items_orders_check CHECK (orders > 0),
        PRIMARY KEY (user_id, product_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE user_pairs (
        user_id uuid NOT NULL,
        product_id uuid NOT NULL,
        other_id uuid NOT NULL,
        orders integer NOT NULL CONSTRAINT user_pairs_orders_check CHECK (orders > 0),
        PRIMARY KEY (user_id, product_id, other_id),
        CONSTRAINT user_pairs_order_check CHECK (product_id < other_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE item_stats (
        product_id uuid PRIMARY KEY,
        category_id uuid,
        -- >= 0, not > 0: PostgreSQL checks an upsert's proposed row (0 for a returning customer) before the conflict.
        customers integer NOT NULL CONSTRAINT item_stats_customers_check CHECK (customers >= 0),
        popularity numeric NOT NULL CONSTRAINT item_stats_popularity_check CHECK (popularity >= 0)
      )`);
    await queryRunner.query(`CREATE INDEX item_stats_popularity_idx ON item_stats (popularity DESC, product_id)`);
    await queryRunner.query(`CREATE INDEX item_stats_category_popularity_idx ON item_stats (category_id, popularity DESC, product_id)`);
    await queryRunner.query(`
      CREATE TABLE pair_counts (
        product_id uuid NOT NULL,
        other_id uuid NOT NULL,
        customers integer NOT NULL CONSTRAINT pair_counts_customers_check CHECK (customers > 0),
        PRIMARY KEY (product_id, other_id)
      )`);
    // The neighbour list of each product, kept ready: its partners, most shared customers first.
    await queryRunner.query(`CREATE INDEX pair_counts_neighbours_idx ON pair_counts (product_id, customers DESC, other_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['pair_counts', 'item_stats', 'user_pairs', 'user_items', 'order_facts', 'products']) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
