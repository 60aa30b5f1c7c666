import type { EventHandlers } from '@shop/events';
import type { ModelSettings } from '../domain/model-settings';
import { countOrder, withdrawOrder } from '../domain/order-counting';
import { changeStock, deleteProduct, saveProduct } from '../domain/product-view';

/**
 * What the service learns from: sales from orders' stream, products from the catalog's. Each
 * handler runs in the transaction that records the event as processed, so a redelivered event is
 * skipped; the handlers are idempotent on their own too (an order is counted once by its id, a
 * product change applies only to an older version).
 */
export function learningEventHandlers(settings: Pick<ModelSettings, 'halfLifeSeconds'>): EventHandlers {
  return {
    'order.confirmed.v1': async (event, manager) => {
      const { orderId, userId, items, confirmedAt } = event.payload;
      await countOrder(manager, { orderId, userId, productIds: items.map((item) => item.productId), confirmedAt }, settings.halfLifeSeconds);
    },
    'order.cancelled.v1': async (event, manager) => {
      await withdrawOrder(manager, event.payload.orderId, event.payload.userId);
    },
    'product.created.v1': (event, manager) => saveProduct(manager, event.payload, event.occurredAt),
    'product.updated.v1': (event, manager) => saveProduct(manager, event.payload, event.occurredAt),
    'product.stock-changed.v1': (event, manager) => changeStock(manager, event.payload, event.occurredAt),
    'product.deleted.v1': (event, manager) => deleteProduct(manager, event.payload, event.occurredAt),
  };
}
