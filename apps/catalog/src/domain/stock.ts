import {
  StockRequestLineSchema,
  UuidSchema,
  type ReservedLine,
  type StockRejectionReason,
  type StockRequestLine,
} from '@shop/contracts';
import { withTransaction } from '@shop/db';
import { AppError } from '@shop/service-kit';
import { Value } from '@sinclair/typebox/value';
import type { DataSource, EntityManager } from 'typeorm';
import { StockReservationEntity, type StockReservationRow } from '../database';
import { stockChanged } from './product-events';

/**
 * The catalog is the single source of truth for stock. An order's stock is reserved (all lines or
 * none) and, when the order is cancelled or rejected later, released. Both are idempotent per
 * order id, and every reservation is recorded, so a release gives back exactly what was held.
 */

export type StockReservation =
  | { orderId: string; status: 'reserved'; lines: ReservedLine[]; currency: string }
  | { orderId: string; status: 'rejected'; reason: StockRejectionReason; productIds: string[] };

/** What a release gave back (the same on every repeat): nothing for an order that held nothing. */
export interface StockRelease {
  orderId: string;
  released: ReservedLine[];
}

export interface StockMovementOptions {
  /**
   * Runs after the transaction committed, with the products whose stock moved: the service passes
   * its cache invalidation here (`app.catalog.reserveStock` does), so readers see the new stock.
   */
  afterCommit?: (productIds: string[]) => Promise<void>;
}

interface Movement<T> {
  outcome: T;
  /** Products whose stock this call changed; empty for a repeat. */
  moved: string[];
}

/**
 * Reserves every line of an order or none. Never oversells: the rows of the order's products are
 * locked in id order (so two orders cannot deadlock), checked, then decremented, all in one
 * transaction, and `CHECK (stock >= 0)` stands behind it. A repeat for the same order id changes
 * nothing and answers what the first call answered; after a release, the order is refused.
 */
export async function reserveStock(
  db: DataSource,
  orderId: string,
  lines: StockRequestLine[],
  options: StockMovementOptions = {},
): Promise<StockReservation> {
  const requested = normalizeLines(orderId, lines); // a bad request fails before taking a connection
  const { outcome, moved } = await withTransaction(db, (manager) => reserveStockWith(manager, orderId, requested));
  if (moved.length > 0) await options.afterCommit?.(moved);
  return outcome;
}

/** Compensation: gives back what the order's reservation holds. Releasing an order that never
 * reserved leaves a tombstone, so a reservation arriving late (cancel overtook placement) is refused. */
export async function releaseStock(db: DataSource, orderId: string, options: StockMovementOptions = {}): Promise<StockRelease> {
  assertOrderId(orderId);
  const { outcome, moved } = await withTransaction(db, (manager) => releaseStockWith(manager, orderId));
  if (moved.length > 0) await options.afterCommit?.(moved);
  return outcome;
}

/** The recorded reservation of an order, if any (for diagnostics and tests). */
export function findReservation(db: DataSource | EntityManager, orderId: string): Promise<StockReservationRow | null> {
  return db.getRepository(StockReservationEntity).findOneBy({ orderId });
}

/** What a stock movement reports per product. (TypeORM answers an UPDATE as `[rows, count]`.) */
const MOVED_PRODUCT = 'p.id, p.stock, p.version';
type MovedProduct = { id: string; stock: number; version: number };

function inIdOrder(products: MovedProduct[]): MovedProduct[] {
  return [...products].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The reservation itself, inside the caller's transaction (`reserveStock` provides one; the saga's
 * consumer its own). Appends `product.stock-changed.v1` for every product it moved; answering the
 * order (`stock.reserved.v1` / `stock.rejected.v1`) is the caller's part, from the outcome.
 */
export async function reserveStockWith(manager: EntityManager, orderId: string, requested: StockRequestLine[]): Promise<Movement<StockReservation>> {
  const lines = normalizeLines(orderId, requested);
  // Claiming the order id first makes a concurrent duplicate wait here until this one commits,
  // and then find the recorded outcome.
  const claimed: unknown[] = await manager.query(
    `INSERT INTO stock_reservations (order_id, state, lines) VALUES ($1, 'reserved', '[]')
     ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
    [orderId],
  );
  if (claimed.length === 0) {
    const existing = await manager.getRepository(StockReservationEntity).findOneByOrFail({ orderId });
    return { outcome: reservationOutcomeOf(existing), moved: [] };
  }

  const productIds = lines.map((line) => line.productId).sort();
  const products: { id: string; sku: string; name: string; price_cents: number; currency: string; stock: number }[] = await manager.query(
    `SELECT id, sku, name, price_cents, currency, stock FROM products WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
    [productIds],
  );
  const byId = new Map(products.map((product) => [product.id, product]));
  const reject = async (reason: StockRejectionReason, culprits: StockRequestLine[]): Promise<Movement<StockReservation>> => {
    const culpritIds = culprits.map((line) => line.productId);
    await manager.query(
      `UPDATE stock_reservations SET state = 'rejected', rejection_reason = $2, rejected_product_ids = $3, lines = $4, updated_at = now()
       WHERE order_id = $1`,
      [orderId, reason, culpritIds, JSON.stringify(lines)],
    );
    return { outcome: { orderId, status: 'rejected', reason, productIds: culpritIds }, moved: [] };
  };
  const unknown = lines.filter((line) => !byId.has(line.productId));
  if (unknown.length > 0) return reject('product_not_found', unknown);
  const short = lines.filter((line) => byId.get(line.productId)!.stock < line.quantity);
  if (short.length > 0) return reject('out_of_stock', short);
  // Every product was written in the store's currency; it is the currency of the order's prices.
  const currency = byId.get(lines[0]!.productId)!.currency;

  const [taken]: [MovedProduct[], number] = await manager.query(
    `UPDATE products p SET stock = p.stock - v.quantity, version = p.version + 1, updated_at = now()
     FROM unnest($1::uuid[], $2::integer[]) AS v(id, quantity) WHERE p.id = v.id
     RETURNING ${MOVED_PRODUCT}`,
    [lines.map((line) => line.productId), lines.map((line) => line.quantity)],
  );
  const reserved: ReservedLine[] = lines.map((line) => {
    const product = byId.get(line.productId)!;
    return { productId: product.id, sku: product.sku, name: product.name, unitPriceCents: product.price_cents, quantity: line.quantity };
  });
  await manager.query(`UPDATE stock_reservations SET lines = $2, currency = $3, updated_at = now() WHERE order_id = $1`, [
    orderId,
    JSON.stringify(reserved),
    currency,
  ]);
  await stockChanged(manager, inIdOrder(taken));
  return { outcome: { orderId, status: 'reserved', lines: reserved, currency }, moved: productIds };
}

/**
 * The release itself, inside the caller's transaction (`releaseStock` provides one). Appends
 * `product.stock-changed.v1` for every product it gave units back to.
 */
export async function releaseStockWith(manager: EntityManager, orderId: string): Promise<Movement<StockRelease>> {
  assertOrderId(orderId);
  const tombstone: unknown[] = await manager.query(
    `INSERT INTO stock_reservations (order_id, state, lines) VALUES ($1, 'released', '[]')
     ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
    [orderId],
  );
  if (tombstone.length > 0) {
    return { outcome: { orderId, released: [] }, moved: [] };
  }
  const reservation = await manager
    .getRepository(StockReservationEntity)
    .findOneOrFail({ where: { orderId }, lock: { mode: 'pessimistic_write' } });
  if (reservation.state !== 'reserved') {
    const released = reservation.state === 'released' ? (reservation.lines as ReservedLine[]) : [];
    return { outcome: { orderId, released }, moved: [] };
  }

  const held = reservation.lines as ReservedLine[];
  const productIds = held.map((line) => line.productId).sort();
  // Same lock order as reservations; a product deleted since simply has nothing to get back.
  await manager.query(`SELECT id FROM products WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [productIds]);
  const [returned]: [MovedProduct[], number] = await manager.query(
    `UPDATE products p SET stock = p.stock + v.quantity, version = p.version + 1, updated_at = now()
     FROM unnest($1::uuid[], $2::integer[]) AS v(id, quantity) WHERE p.id = v.id
     RETURNING ${MOVED_PRODUCT}`,
    [held.map((line) => line.productId), held.map((line) => line.quantity)],
  );
  await manager.query(`UPDATE stock_reservations SET state = 'released', updated_at = now() WHERE order_id = $1`, [orderId]);
  await stockChanged(manager, inIdOrder(returned));
  return { outcome: { orderId, released: held }, moved: productIds };
}

function reservationOutcomeOf(row: StockReservationRow): StockReservation {
  switch (row.state) {
    case 'reserved':
      return { orderId: row.orderId, status: 'reserved', lines: row.lines as ReservedLine[], currency: row.currency! };
    case 'rejected':
      return { orderId: row.orderId, status: 'rejected', reason: row.rejectionReason!, productIds: row.rejectedProductIds };
    case 'released':
      return { orderId: row.orderId, status: 'rejected', reason: 'order_released', productIds: [] };
  }
}

function assertOrderId(orderId: string): void {
  if (!Value.Check(UuidSchema, orderId)) {
    throw new AppError('REQUEST_VALIDATION_FAILED', 'The order id is not a UUID', { errors: [{ path: '/orderId', message: 'must be a UUID' }] });
  }
}

/** Checks the request and merges lines of the same product, so each product is locked and counted once. */
function normalizeLines(orderId: string, lines: StockRequestLine[]): StockRequestLine[] {
  assertOrderId(orderId);
  const errors = lines.flatMap((line, index) =>
    [...Value.Errors(StockRequestLineSchema, line)].map((error) => ({ path: `/lines/${index}${error.path}`, message: error.message })),
  );
  if (lines.length === 0) errors.push({ path: '/lines', message: 'must not be empty' });
  if (errors.length > 0) throw new AppError('REQUEST_VALIDATION_FAILED', 'The stock request is not valid', { errors });
  const quantities = new Map<string, number>();
  for (const line of lines) {
    // Postgres answers ids in lower case; compare them the same way.
    const productId = line.productId.toLowerCase();
    quantities.set(productId, (quantities.get(productId) ?? 0) + line.quantity);
  }
  return [...quantities].map(([productId, quantity]) => ({ productId, quantity }));
}
