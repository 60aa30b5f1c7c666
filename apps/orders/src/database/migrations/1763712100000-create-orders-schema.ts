import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateOrdersSchema1763712100000 implements MigrationInterface {
  name = 'CreateOrdersSchema1763712100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE orders (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        status text NOT NULL CONSTRAINT orders_status_check CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelled')),
        total_cents bigint CONSTRAINT orders_total_check CHECK (total_cents >= 0),
        currency text NOT NULL,
        rejection_reason text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT orders_rejection_reason_check CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL)),
        CONSTRAINT orders_confirmed_total_check CHECK (status <> 'confirmed' OR total_cents IS NOT NULL)
      )`);
    // Newest first, per owner and for everyone (orders:read:all), optionally by status.
    await queryRunner.query(`CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC)`);
    await queryRunner.query(`CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC)`);
    await queryRunner.query(`CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC, id DESC)`);
    await queryRunner.query(`
      CREATE TABLE order_items (
        order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        product_id uuid NOT NULL,
        position int NOT NULL,
        quantity int NOT NULL CONSTRAINT order_items_quantity_check CHECK (quantity BETWEEN 1 AND 1000),
        sku text,
        name text,
        unit_price_cents int CONSTRAINT order_items_price_check CHECK (unit_price_cents >= 0),
        PRIMARY KEY (order_id, product_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        user_id uuid NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        state text NOT NULL CONSTRAINT idempotency_keys_state_check CHECK (state IN ('in_progress', 'completed')),
        locked_until timestamptz(3) NOT NULL,
        response_status int,
        response_body jsonb,
        response_location text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        PRIMARY KEY (user_id, key)
      )`);
    await queryRunner.query(`CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE idempotency_keys`);
    await queryRunner.query(`DROP TABLE order_items`);
    await queryRunner.query(`DROP TABLE orders`);
  }
}
