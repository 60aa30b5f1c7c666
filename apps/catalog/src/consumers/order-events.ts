import { afterCommit } from '@shop/db';
import { appendEvent, type EventHandlers } from '@shop/events';
import { invalidateAfterCommit } from '../cache/invalidate-after-commit';
import { releaseStockWith, reserveStockWith } from '../domain/stock';
import type { CatalogMetrics } from '../observability/metrics';

const SOURCE = 'catalog';

/**
 * The catalog's side of the order saga. Each handler runs in the consumer's transaction, which
 * also records the event as processed: the stock movement, its `product.stock-changed.v1` events,
 * the answer to orders and the deduplication commit together or not at all. The cached copies of
 * moved products are dropped only after that commit (see `invalidateAfterCommit`).
 *
 * Both answers are derived from the recorded outcome, so an order placed twice (a new event id for
 * the same order) gets the first answer again, and a placement that arrives after its cancellation
 * is refused as `order_released`.
 */
export const orderEventHandlers = (metrics: Pick<CatalogMetrics, 'stockReservations' | 'stockReleases'>): EventHandlers => ({
  'order.placed.v1': async (event, manager) => {
    const { orderId, items } = event.payload;
    // Only what the catalog reads: a field a newer orders adds to a line must not fail the request's validation.
    const lines = items.map(({ productId, quantity }) => ({ productId, quantity }));
    const { outcome, moved } = await reserveStockWith(manager, orderId, lines);
    invalidateAfterCommit(manager, moved);
    // Counted once committed: a handler retried after a conflict runs again.
    afterCommit(manager, () => metrics.stockReservations.inc({ outcome: outcome.status === 'reserved' ? 'reserved' : outcome.reason }));
    if (outcome.status === 'reserved') {
      await appendEvent(manager, {
        type: 'stock.reserved.v1',
        source: SOURCE,
        payload: {
          orderId,
          items: outcome.lines.map(({ productId, sku, name, quantity, unitPriceCents }) => ({ productId, sku, name, quantity, unitPriceCents })),
          currency: outcome.currency,
        },
      });
    } else {
      await appendEvent(manager, {
        type: 'stock.rejected.v1',
        source: SOURCE,
        payload: { orderId, reason: outcome.reason, ...(outcome.productIds.length > 0 ? { productIds: outcome.productIds } : {}) },
      });
    }
  },

  'order.cancelled.v1': async (event, manager) => {
    const { orderId } = event.payload;
    // Leaves a tombstone when nothing was reserved yet, so a placement arriving late is refused.
    const { outcome, moved } = await releaseStockWith(manager, orderId);
    invalidateAfterCommit(manager, moved);
    afterCommit(manager, () => metrics.stockReleases.inc({ result: outcome.released.length > 0 ? 'released' : 'nothing_held' }));
    await appendEvent(manager, { type: 'stock.released.v1', source: SOURCE, payload: { orderId } });
  },
});
