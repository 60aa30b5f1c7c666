import type { EventHandlers } from '@shop/events';
import { confirmOrder, rejectOrder, type SagaObserver } from '../domain/orders';

/** Orders' side of the saga: the catalog's answer settles a pending order. */
export const stockEventHandlers = (saga?: SagaObserver): EventHandlers => ({
  'stock.reserved.v1': (event, manager) => confirmOrder(manager, event.payload, saga),
  'stock.rejected.v1': (event, manager) => rejectOrder(manager, event.payload, saga),
});
