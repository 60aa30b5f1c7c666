import type { Order, OrderListQuery, PlaceOrderBody, StockRejectedV1, StockReservedV1 } from '@shop/contracts';
import { afterCommit, pageByCreation, type KeysetPage } from '@shop/db';
import { appendEvent } from '@shop/events';
import { AppError } from '@shop/service-kit';
import type { Principal } from '@shop/token-verifier';
import { In, type DataSource, type EntityManager } from 'typeorm';
import { OrderEntity, OrderItemEntity, type OrderItemRow, type OrderRow } from '../database';
import { notifyOrderChanged } from './order-feed';

const SOURCE = 'orders';

export type SagaOutcome = 'confirmed' | 'rejected' | 'cancelled';

/** Told when an order leaves `pending`, once that has committed (metrics). */
export interface SagaObserver {
  sagaEnded(outcome: SagaOutcome, placedAt: Date): void;
}

function sagaEnded(manager: EntityManager, saga: SagaObserver | undefined, outcome: SagaOutcome, placedAt: Date): void {
  if (saga) afterCommit(manager, () => saga.sagaEnded(outcome, placedAt));
}

export interface StoredOrder {
  order: OrderRow;
  items: OrderItemRow[];
}

export function toOrder({ order, items }: StoredOrder): Order {
  return {
    id: order.id,
    userId: order.userId,
    status: order.status,
    items: [...items]
      .sort((a, b) => a.position - b.position)
      .map((item) => ({
        productId: item.productId,
        sku: item.sku,
        name: item.name,
        quantity: item.quantity,
        unitPriceCents: item.unitPriceCents,
        lineTotalCents: item.unitPriceCents === null ? null : item.unitPriceCents * item.quantity,
      })),
    totalCents: order.totalCents,
    currency: order.currency,
    rejectionReason: order.rejectionReason,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

/** A caller sees their own orders; `orders:read:all` sees everyone's. */
export function canSeeAll(principal: Principal): boolean {
  return principal.scopes.includes('orders:read:all');
}

export function assertDistinctProducts(body: PlaceOrderBody): void {
  const seen = new Set<string>();
  body.items.forEach((item, index) => {
    if (seen.has(item.productId)) {
      throw new AppError('ORDERS_DUPLICATE_PRODUCT', 'Put the whole quantity of a product on one line', {
        errors: [{ path: `/body/items/${index}/productId`, message: 'appears on an earlier line' }],
      });
    }
    seen.add(item.productId);
  });
}

/** The columns of `orders` as a `StoredOrder`'s row is made from them (`orderRowOf`). */
const ORDER_COLUMNS = 'id, user_id, status, total_cents, currency, rejection_reason, created_at, updated_at';

interface OrderRecord {
  id: string;
  user_id: string;
  status: OrderRow['status'];
  /** bigint: pg hands it over as a string. */
  total_cents: string | null;
  currency: string;
  rejection_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

interface ItemRecord {
  product_id: string;
  position: number;
  quantity: number;
  sku: string | null;
  name: string | null;
  unit_price_cents: number | null;
}

function orderRowOf(record: OrderRecord): OrderRow {
  return {
    id: record.id,
    userId: record.user_id,
    status: record.status,
    totalCents: record.total_cents === null ? null : Number(record.total_cents),
    currency: record.currency,
    rejectionReason: record.rejection_reason,
    createdAt: record.created_at,
    updatedAt: record.updated_at,
  };
}

function itemRowsOf(orderId: string, records: readonly ItemRecord[]): OrderItemRow[] {
  return records.map((item) => ({
    orderId,
    productId: item.product_id,
    position: item.position,
    quantity: item.quantity,
    sku: item.sku,
    name: item.name,
    unitPriceCents: item.unit_price_cents,
  }));
}

/**
 * Stores the order as `pending` and its `order.placed` event in one transaction: the catalog
 * hears of every order that exists, and of no order that does not. The order and its lines go in
 * with one statement (plain SQL: this is every order's path, and one round trip instead of
 * TypeORM's several).
 */
export async function placeOrder(manager: EntityManager, userId: string, body: PlaceOrderBody, currency: string): Promise<StoredOrder> {
  const [record]: OrderRecord[] = await manager.query(
    `WITH placed AS (
       INSERT INTO orders (user_id, status, currency) VALUES ($1, 'pending', $2) RETURNING ${ORDER_COLUMNS}
     ), lines AS (
       INSERT INTO order_items (order_id, product_id, position, quantity)
       SELECT placed.id, line.product_id, line.position - 1, line.quantity
         FROM placed, unnest($3::uuid[], $4::int[]) WITH ORDINALITY AS line(product_id, quantity, position)
     )
     SELECT * FROM placed`,
    [userId, currency, body.items.map((item) => item.productId), body.items.map((item) => item.quantity)],
  );
  const order = orderRowOf(record!);
  const items = body.items.map((item, position) => ({
    orderId: order.id,
    productId: item.productId,
    position,
    quantity: item.quantity,
    sku: null,
    name: null,
    unitPriceCents: null,
  }));
  await appendEvent(manager, {
    type: 'order.placed.v1',
    source: SOURCE,
    payload: { orderId: order.id, userId, items: body.items.map(({ productId, quantity }) => ({ productId, quantity })) },
  });
  await notifyOrderChanged(manager, order);
  return { order, items };
}

/** The order if this principal may see it; someone else's order is simply not found. */
export async function findVisibleOrder(manager: EntityManager | DataSource, principal: Principal, id: string, lock = false): Promise<StoredOrder> {
  const order = await manager.getRepository(OrderEntity).findOne({
    where: canSeeAll(principal) ? { id } : { id, userId: principal.userId },
    ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
  });
  if (!order) throw new AppError('ORDERS_ORDER_NOT_FOUND');
  const items = await manager.getRepository(OrderItemEntity).findBy({ orderId: id });
  return { order, items };
}

/**
 * Cancels a pending or confirmed order and emits `order.cancelled`; the catalog gives back what
 * the order held, or, if its reservation has not happened yet, makes sure it never will, and
 * readers of `order.confirmed` withdraw what they counted.
 */
export async function cancelOrder(manager: EntityManager, principal: Principal, id: string, saga?: SagaObserver): Promise<StoredOrder> {
  const stored = await findVisibleOrder(manager, principal, id, true);
  if (stored.order.status === 'rejected' || stored.order.status === 'cancelled') {
    throw new AppError('ORDERS_NOT_CANCELLABLE', `The order is already ${stored.order.status}`);
  }
  if (stored.order.status === 'pending') sagaEnded(manager, saga, 'cancelled', stored.order.createdAt);
  stored.order.status = 'cancelled';
  stored.order = await manager.getRepository(OrderEntity).save(stored.order);
  await appendEvent(manager, { type: 'order.cancelled.v1', source: SOURCE, payload: { orderId: id, userId: stored.order.userId } });
  await notifyOrderChanged(manager, stored.order);
  return stored;
}

/**
 * The catalog held the stock: the order is confirmed at the catalog's prices. Only a pending order
 * is: the UPDATE's `status = 'pending'` condition takes the row lock and, under READ COMMITTED, is
 * checked again once a concurrent cancel has committed, so a late or repeated event changes
 * nothing (a cancelled order's stock is released by the catalog when it sees order.cancelled).
 * The order and its lines are priced in one statement, which also hands back the settled order
 * for those waiting on it.
 */
export async function confirmOrder(manager: EntityManager, event: StockReservedV1, saga?: SagaObserver): Promise<void> {
  const total = event.items.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
  const [record]: (OrderRecord & { items: ItemRecord[] | null; line_count: number })[] = await manager.query(
    `WITH confirmed AS (
       UPDATE orders SET status = 'confirmed', total_cents = $2, currency = $3, updated_at = now()
        WHERE id = $1 AND status = 'pending'
       RETURNING ${ORDER_COLUMNS}
     ), priced AS (
       UPDATE order_items item SET sku = line.sku, name = line.name, unit_price_cents = line.unit_price_cents
         FROM confirmed, unnest($4::uuid[], $5::text[], $6::text[], $7::int[]) AS line(product_id, sku, name, unit_price_cents)
        WHERE item.order_id = confirmed.id AND item.product_id = line.product_id
       RETURNING item.product_id, item.position, item.quantity, item.sku, item.name, item.unit_price_cents
     )
     SELECT confirmed.*, (SELECT json_agg(priced ORDER BY position) FROM priced) AS items,
            (SELECT count(*)::int FROM order_items WHERE order_id = confirmed.id) AS line_count
       FROM confirmed`,
    [
      event.orderId,
      total,
      event.currency,
      event.items.map((line) => line.productId),
      event.items.map((line) => line.sku),
      event.items.map((line) => line.name),
      event.items.map((line) => line.unitPriceCents),
    ],
  );
  if (!record) return;
  const order = orderRowOf(record);
  sagaEnded(manager, saga, 'confirmed', order.createdAt);
  // What was sold, for readers that learn from sales (recommendations): only a confirmed order counts.
  await appendEvent(manager, {
    type: 'order.confirmed.v1',
    source: SOURCE,
    payload: {
      orderId: order.id,
      userId: order.userId,
      items: event.items.map(({ productId, quantity }) => ({ productId, quantity })),
      confirmedAt: order.updatedAt.toISOString(),
    },
  });
  const items = record.items ?? [];
  // A line the catalog did not price (never so today) leaves the settled order to be read from the table.
  await notifyOrderChanged(manager, order, items.length === record.line_count ? toOrder({ order, items: itemRowsOf(order.id, items) }) : undefined);
}

/** The catalog held nothing: the pending order is rejected, with the catalog's reason (see `confirmOrder` for the lock). */
export async function rejectOrder(manager: EntityManager, event: StockRejectedV1, saga?: SagaObserver): Promise<void> {
  const [record]: (OrderRecord & { items: ItemRecord[] })[] = await manager.query(
    `WITH rejected AS (
       UPDATE orders SET status = 'rejected', rejection_reason = $2, updated_at = now()
        WHERE id = $1 AND status = 'pending'
       RETURNING ${ORDER_COLUMNS}
     )
     SELECT rejected.*, (SELECT json_agg(item ORDER BY position) FROM order_items item WHERE item.order_id = rejected.id) AS items
       FROM rejected`,
    [event.orderId, event.reason],
  );
  if (!record) return;
  const order = orderRowOf(record);
  sagaEnded(manager, saga, 'rejected', order.createdAt);
  await notifyOrderChanged(manager, order, toOrder({ order, items: itemRowsOf(order.id, record.items ?? []) }));
}

export async function listOrders(db: DataSource, principal: Principal, query: OrderListQuery): Promise<KeysetPage<Order>> {
  if (query.userId !== undefined && !canSeeAll(principal)) {
    throw new AppError('AUTH_SCOPE_REQUIRED', 'Filtering by userId needs the scope orders:read:all');
  }
  const builder = db.getRepository(OrderEntity).createQueryBuilder('o');
  const owner = canSeeAll(principal) ? query.userId : principal.userId;
  if (owner !== undefined) builder.andWhere('o.user_id = :owner', { owner });
  if (query.status !== undefined) builder.andWhere('o.status = :status', { status: query.status });
  const page = await pageByCreation(builder, { limit: query.limit, cursor: query.cursor, newestFirst: true });
  const items = page.rows.length === 0 ? [] : await db.getRepository(OrderItemEntity).findBy({ orderId: In(page.rows.map((row) => row.id)) });
  return {
    rows: page.rows.map((order) => toOrder({ order, items: items.filter((item) => item.orderId === order.id) })),
    nextCursor: page.nextCursor,
  };
}

/** The order as the API shows it, in one query (a waiter whose change feed said nothing more reads it here). */
export async function loadOrder(db: DataSource, id: string): Promise<Order | null> {
  const [record]: (OrderRecord & { items: ItemRecord[] | null })[] = await db.query(
    `SELECT ${ORDER_COLUMNS}, (SELECT json_agg(item ORDER BY position) FROM order_items item WHERE item.order_id = orders.id) AS items
       FROM orders WHERE id = $1`,
    [id],
  );
  if (!record) return null;
  return toOrder({ order: orderRowOf(record), items: itemRowsOf(record.id, record.items ?? []) });
}
