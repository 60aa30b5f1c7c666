import { AUTH_OPERATIONS } from './auth';
import { CATALOG_OPERATIONS } from './catalog';
import { GATEWAY_OPERATIONS } from './gateway';
import type { PublicOperation, ServiceName } from './operation';
import { ORDERS_OPERATIONS } from './orders';
import { RECOMMENDATIONS_OPERATIONS } from './recommendations';

export * from './operation';
export { OPERATION_TAGS } from './tags';
export { AUTH_OPERATIONS, CATALOG_OPERATIONS, GATEWAY_OPERATIONS, ORDERS_OPERATIONS, RECOMMENDATIONS_OPERATIONS };

/** Every operation of each service, keyed by operationId. */
export const OPERATIONS_BY_SERVICE = {
  auth: AUTH_OPERATIONS,
  catalog: CATALOG_OPERATIONS,
  orders: ORDERS_OPERATIONS,
  recommendations: RECOMMENDATIONS_OPERATIONS,
  gateway: GATEWAY_OPERATIONS,
} as const satisfies Record<ServiceName, Record<string, PublicOperation>>;

const ALL = { ...AUTH_OPERATIONS, ...CATALOG_OPERATIONS, ...ORDERS_OPERATIONS, ...RECOMMENDATIONS_OPERATIONS, ...GATEWAY_OPERATIONS };
export type OperationId = keyof typeof ALL;

/**
 * The whole public API, each operation declared once: the services register their handlers by
 * operationId against it, the gateway routes, authenticates, limits and documents from it.
 */
export const PUBLIC_OPERATIONS: readonly PublicOperation[] = Object.values(OPERATIONS_BY_SERVICE).flatMap((operations) => Object.values(operations));

export function operationById<Id extends OperationId>(operationId: Id): (typeof ALL)[Id] {
  return ALL[operationId];
}
