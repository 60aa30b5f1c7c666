import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateCatalogSchema1764000000000 implements MigrationInterface {
  name = 'CreateCatalogSchema1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE categories (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        slug text NOT NULL CONSTRAINT categories_slug_key UNIQUE,
        description text,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX categories_name_id_idx ON categories (name, id)`);

    // A generated column may only call immutable functions, and array_to_string is merely stable
    // (in general it depends on output functions); for text[] it is immutable, so say so here.
    await queryRunner.query(`
      CREATE FUNCTION product_search_document(name text, description text, tags text[]) RETURNS tsvector
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT setweight(to_tsvector('english', name), 'A')
            || setweight(to_tsvector('english', array_to_string(tags, ' ')), 'B')
            || setweight(to_tsvector('english', coalesce(description, '')), 'C')
      $$`);

    await queryRunner.query(`
      CREATE TABLE products (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        sku text NOT NULL,
        name text NOT NULL,
        description text,
        price_cents integer NOT NULL CONSTRAINT products_price_cents_check CHECK (price_cents >= 0),
        currency text NOT NULL CONSTRAINT products_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
        category_id uuid CONSTRAINT products_category_id_fkey REFERENCES categories (id) ON DELETE RESTRICT,
        tags text[] NOT NULL DEFAULT '{}',
        -- The last line of defence against overselling, whatever the code above it does.
        stock integer NOT NULL CONSTRAINT products_stock_check CHECK (stock >= 0),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        search tsvector GENERATED ALWAYS AS (product_search_document(name, description, tags)) STORED
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX products_sku_key ON products (lower(sku))`);
    // Keyset pagination walks one of these per sort (backwards for descending sorts); with a
    // category filter, the category-first twin. Price ranges and inStock filter along the walk.
    await queryRunner.query(`CREATE INDEX products_created_at_id_idx ON products (created_at, id)`);
    await queryRunner.query(`CREATE INDEX products_price_id_idx ON products (price_cents, id)`);
    await queryRunner.query(`CREATE INDEX products_name_id_idx ON products (name, id)`);
    await queryRunner.query(`CREATE INDEX products_category_created_at_id_idx ON products (category_id, created_at, id)`);
    await queryRunner.query(`CREATE INDEX products_category_price_id_idx ON products (category_id, price_cents, id)`);
    await queryRunner.query(`CREATE INDEX products_category_name_id_idx ON products (category_id, name, id)`);
    await queryRunner.query(`CREATE INDEX products_search_idx ON products USING gin (search)`);

    await queryRunner.query(`
      CREATE TABLE stock_reservations (
        order_id uuid PRIMARY KEY,
        state text NOT NULL CONSTRAINT stock_reservations_state_check CHECK (state IN ('reserved', 'released', 'rejected')),
        lines jsonb NOT NULL DEFAULT '[]',
        -- When reserved: the currency of the prices in lines. When rejected: why, and which products.
        currency text,
        rejection_reason text,
        rejected_product_ids uuid[] NOT NULL DEFAULT '{}',
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT stock_reservations_reason_check CHECK ((state = 'rejected') = (rejection_reason IS NOT NULL))
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE stock_reservations`);
    await queryRunner.query(`DROP TABLE products`);
    await queryRunner.query(`DROP FUNCTION product_search_document(text, text, text[])`);
    await queryRunner.query(`DROP TABLE categories`);
  }
}
