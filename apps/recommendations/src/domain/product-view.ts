import type { ProductDeletedV1, ProductSnapshotV1, ProductStockChangedV1 } from '@shop/contracts';
import type { EntityManager } from 'typeorm';

/**
 * The catalog's products as this service knows them, kept from the catalog's events. Events of
 * one product may arrive late or twice; each carries the product's version, and only a newer one
 * is applied. A deleted product stays as a tombstone, so nothing late brings it back.
 */

/** Created or updated: the whole product. `occurredAt` stands in for times an older producer did not send. */
export async function saveProduct(manager: EntityManager, product: ProductSnapshotV1, occurredAt: string): Promise<void> {
  await manager.query(
    `INSERT INTO products (id, sku, name, description, price_cents, currency, category_id, tags, stock, version, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (id) DO UPDATE SET
       sku = excluded.sku, name = excluded.name, description = excluded.description, price_cents = excluded.price_cents,
       currency = excluded.currency, category_id = excluded.category_id, tags = excluded.tags, stock = excluded.stock,
       version = excluded.version, created_at = LEAST(products.created_at, excluded.created_at), updated_at = excluded.updated_at
     WHERE products.version < excluded.version AND NOT products.deleted`,
    [
      product.productId,
      product.sku,
      product.name,
      product.description,
      product.priceCents,
      product.currency,
      product.categoryId,
      product.tags,
      product.stock,
      product.version,
      product.createdAt ?? occurredAt,
      product.updatedAt ?? occurredAt,
    ],
  );
  // The category as popularity reads it (a product may have been sold before it was announced).
  await manager.query(
    `UPDATE item_stats s SET category_id = p.category_id FROM products p
     WHERE s.product_id = $1 AND p.id = $1 AND s.category_id IS DISTINCT FROM p.category_id`,
    [product.productId],
  );
}

/** Only the units available changed. A product never announced in full is left alone: a stock alone is no product. */
export async function changeStock(manager: EntityManager, change: ProductStockChangedV1, occurredAt: string): Promise<void> {
  await manager.query(
    `UPDATE products SET stock = $2, version = $3, updated_at = GREATEST(updated_at, $4::timestamptz)
     WHERE id = $1 AND version < $3 AND NOT deleted`,
    [change.productId, change.stock, change.version, occurredAt],
  );
}

/** Gone for good; what customers bought of it stays in the counts, but it is never recommended again. */
export async function deleteProduct(manager: EntityManager, deleted: ProductDeletedV1, occurredAt: string): Promise<void> {
  await manager.query(
    `INSERT INTO products (id, sku, name, price_cents, currency, stock, version, created_at, updated_at, deleted)
     VALUES ($1, $2, '', 0, 'XXX', 0, 0, $3, $3, true)
     ON CONFLICT (id) DO UPDATE SET deleted = true, stock = 0, updated_at = excluded.updated_at`,
    [deleted.productId, deleted.sku, occurredAt],
  );
}
