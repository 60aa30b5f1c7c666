import type { ProductSnapshotV1 } from '@shop/contracts';
import { appendEvent, appendEvents } from '@shop/events';
import type { EntityManager } from 'typeorm';
import type { ProductRow } from '../database';

/**
 * The catalog's product events, appended to its outbox through the transaction of the change, so
 * a reader outside the catalog (a search index, a price list) hears of every committed change and
 * of nothing that rolled back. Each carries the product's version after the change: events of one
 * product may reach a reader out of order, and it keeps the highest version it has seen.
 */

const SOURCE = 'catalog';

export function snapshotOf(row: ProductRow): ProductSnapshotV1 {
  return {
    productId: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    priceCents: row.priceCents,
    currency: row.currency,
    categoryId: row.categoryId,
    tags: row.tags,
    stock: row.stock,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function productCreated(manager: EntityManager, row: ProductRow): Promise<void> {
  await appendEvent(manager, { type: 'product.created.v1', source: SOURCE, payload: snapshotOf(row) });
}

/** An edit: the whole product, and its stock on its own too when the edit changed it. */
export async function productUpdated(manager: EntityManager, row: ProductRow, changed: readonly string[]): Promise<void> {
  await appendEvent(manager, { type: 'product.updated.v1', source: SOURCE, payload: snapshotOf(row) });
  if (changed.includes('stock')) await stockChanged(manager, [{ id: row.id, stock: row.stock, version: row.version }]);
}

export async function productDeleted(manager: EntityManager, row: ProductRow): Promise<void> {
  await appendEvent(manager, { type: 'product.deleted.v1', source: SOURCE, payload: { productId: row.id, sku: row.sku } });
}

/** One `product.stock-changed.v1` per product, in the order given (one statement for them all). */
export async function stockChanged(manager: EntityManager, products: readonly { id: string; stock: number; version: number }[]): Promise<void> {
  await appendEvents(
    manager,
    products.map((product) => ({
      type: 'product.stock-changed.v1' as const,
      source: SOURCE,
      payload: { productId: product.id, stock: product.stock, version: product.version },
    })),
  );
}
