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

/**
 * Stores the order as `pending` and its `order.placed` event in one transaction: the catalog
 * hears of every order that exists, and of no order that does not.
 */
export async function placeOrder(manager: EntityManager, userId: string, body: PlaceOrderBody, currency: string): Promise<StoredOrder> {
  const order = await manager.getRepository(OrderEntity).save({ userId, status: 'pending', totalCents: null, currency, rejectionReason: null });
  const items = body.items.map((item, position) => ({
    orderId: order.id,
    productId: item.productId,
    position,
    quantity: item.quantity,
    sku: null,
    name: null,
    unitPriceCents: null,
  }));
  await manager.getRepository(OrderItemEntity).insert(items);
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

async function lockPendingOrder(manager: EntityManager, orderId: string): Promise<OrderRow | null> {
  const order = await manager.getRepository(OrderEntity).findOne({ where: { id: orderId }, lock: { mode: 'pessimistic_write' } });
  // Anything but pending means this event is late or repeated: a cancelled order's stock is
  // released by the catalog when it sees order.cancelled, so there is nothing to undo here.
  return order?.status === 'pending' ? order : null;
}

/** The catalog held the stock: the order is confirmed at the catalog's prices. */
export async function confirmOrder(manager: EntityManager, event: StockReservedV1, saga?: SagaObserver): Promise<void> {
  const order = await lockPendingOrder(manager, event.orderId);
  if (!order) return;
  sagaEnded(manager, saga, 'confirmed', order.createdAt);
  const items = manager.getRepository(OrderItemEntity);
  let total = 0;
  for (const line of event.items) {
    await items.update({ orderId: order.id, productId: line.productId }, { sku: line.sku, name: line.name, unitPriceCents: line.unitPriceCents });
    total += line.unitPriceCents * line.quantity;
  }
  order.status = 'confirmed';
  order.totalCents = total;
  order.currency = event.currency;
  const saved = await manager.getRepository(OrderEntity).save(order);
  // What was sold, for readers that learn from sales (recommendations): only a confirmed order counts.
  await appendEvent(manager, {
    type: 'order.confirmed.v1',
    source: SOURCE,
    payload: {
      orderId: order.id,
      userId: order.userId,
      items: event.items.map(({ productId, quantity }) => ({ productId, quantity })),
      confirmedAt: saved.updatedAt.toISOString(),
    },
  });
  await notifyOrderChanged(manager, order);
}

/** The catalog held nothing: the order is rejected, with the catalog's reason. */
export async function rejectOrder(manager: EntityManager, event: StockRejectedV1, saga?: SagaObserver): Promise<void> {
  const order = await lockPendingOrder(manager, event.orderId);
  if (!order) return;
  sagaEnded(manager, saga, 'rejected', order.createdAt);
  order.status = 'rejected';
  order.rejectionReason = event.reason;
  await manager.getRepository(OrderEntity).save(order);
  await notifyOrderChanged(manager, order);
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

export async function loadOrder(db: DataSource, id: string): Promise<Order | null> {
  const order = await db.getRepository(OrderEntity).findOneBy({ id });
  if (!order) return null;
  return toOrder({ order, items: await db.getRepository(OrderItemEntity).findBy({ orderId: id }) });
}
