// Versioned event names and their payload schemas: what services say to each other through streams.
//
// A name ends in its version (`order.placed.v1`). A payload only ever gains optional fields under
// the same name; anything else is a new version, published beside the old one until every
// consumer has moved. Payload schemas leave `additionalProperties` open on purpose: consumers are
// tolerant readers, so a producer that adds a field never breaks one that does not know it yet.
import { Type, type Static } from '@sinclair/typebox';
import { TimestampSchema, UuidSchema } from './common';

/** The services that publish events; each one's events go to its own stream. */
export const EventSources = ['orders', 'catalog'] as const;
export type EventSource = (typeof EventSources)[number];

const CurrencySchema = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217' });
const QuantitySchema = Type.Integer({ minimum: 1 });
const CentsSchema = Type.Integer({ minimum: 0 });

// --- orders ---------------------------------------------------------------------------------

export const OrderPlacedV1Schema = Type.Object({
  orderId: UuidSchema,
  userId: UuidSchema,
  items: Type.Array(Type.Object({ productId: UuidSchema, quantity: QuantitySchema }), { minItems: 1 }),
});
export type OrderPlacedV1 = Static<typeof OrderPlacedV1Schema>;

export const OrderCancelledV1Schema = Type.Object({
  orderId: UuidSchema,
  userId: UuidSchema,
});
export type OrderCancelledV1 = Static<typeof OrderCancelledV1Schema>;

/**
 * The catalog held the stock and the order is confirmed: what was bought, by whom, and when.
 * `order.placed` says what was asked for; only this says what was actually sold.
 */
export const OrderConfirmedV1Schema = Type.Object({
  orderId: UuidSchema,
  userId: UuidSchema,
  items: Type.Array(Type.Object({ productId: UuidSchema, quantity: QuantitySchema }), { minItems: 1 }),
  confirmedAt: TimestampSchema,
});
export type OrderConfirmedV1 = Static<typeof OrderConfirmedV1Schema>;

// --- catalog: the stock side of the order saga ----------------------------------------------

/** Every unit of the order is held; prices are the catalog's at the moment of the reservation. */
export const StockReservedV1Schema = Type.Object({
  orderId: UuidSchema,
  items: Type.Array(
    Type.Object({
      productId: UuidSchema,
      sku: Type.String(),
      name: Type.String(),
      quantity: QuantitySchema,
      unitPriceCents: CentsSchema,
    }),
    { minItems: 1 },
  ),
  currency: CurrencySchema,
});
export type StockReservedV1 = Static<typeof StockReservedV1Schema>;

/**
 * Nothing was held. `productIds` names the products that caused it, when known.
 * `order_released`: the order was cancelled (its stock released) before its reservation came in.
 */
export const StockRejectedV1Schema = Type.Object({
  orderId: UuidSchema,
  reason: Type.Union([Type.Literal('out_of_stock'), Type.Literal('product_not_found'), Type.Literal('order_released')]),
  productIds: Type.Optional(Type.Array(UuidSchema)),
});
export type StockRejectedV1 = Static<typeof StockRejectedV1Schema>;

/** What an order held is back in stock (after a cancellation). */
export const StockReleasedV1Schema = Type.Object({
  orderId: UuidSchema,
});
export type StockReleasedV1 = Static<typeof StockReleasedV1Schema>;

// --- catalog: products ----------------------------------------------------------------------

/** A product as a reader outside the catalog keeps it (a search index, a cache, a price list). */
export const ProductSnapshotV1Schema = Type.Object({
  productId: UuidSchema,
  sku: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  priceCents: CentsSchema,
  currency: CurrencySchema,
  categoryId: Type.Union([UuidSchema, Type.Null()]),
  tags: Type.Array(Type.String()),
  stock: Type.Integer({ minimum: 0 }),
  /** The product's version after the change: a reader keeps the highest it has seen. */
  version: Type.Integer({ minimum: 1 }),
  createdAt: Type.Optional(TimestampSchema),
  updatedAt: Type.Optional(TimestampSchema),
});
export type ProductSnapshotV1 = Static<typeof ProductSnapshotV1Schema>;

export const ProductCreatedV1Schema = ProductSnapshotV1Schema;
export type ProductCreatedV1 = ProductSnapshotV1;
export const ProductUpdatedV1Schema = ProductSnapshotV1Schema;
export type ProductUpdatedV1 = ProductSnapshotV1;

export const ProductDeletedV1Schema = Type.Object({
  productId: UuidSchema,
  sku: Type.String(),
});
export type ProductDeletedV1 = Static<typeof ProductDeletedV1Schema>;

/** The units available to order changed (a reservation, a release or an edit). */
export const ProductStockChangedV1Schema = Type.Object({
  productId: UuidSchema,
  stock: Type.Integer({ minimum: 0 }),
  version: Type.Integer({ minimum: 1 }),
});
export type ProductStockChangedV1 = Static<typeof ProductStockChangedV1Schema>;

// --- the registry ---------------------------------------------------------------------------

/** Every event name there is, with the schema of its payload. */
export const EventPayloadSchemas = {
  'order.placed.v1': OrderPlacedV1Schema,
  'order.cancelled.v1': OrderCancelledV1Schema,
  'order.confirmed.v1': OrderConfirmedV1Schema,
  'stock.reserved.v1': StockReservedV1Schema,
  'stock.rejected.v1': StockRejectedV1Schema,
  'stock.released.v1': StockReleasedV1Schema,
  'product.created.v1': ProductCreatedV1Schema,
  'product.updated.v1': ProductUpdatedV1Schema,
  'product.deleted.v1': ProductDeletedV1Schema,
  'product.stock-changed.v1': ProductStockChangedV1Schema,
} as const;

export type EventType = keyof typeof EventPayloadSchemas;
export type EventPayload<T extends EventType> = Static<(typeof EventPayloadSchemas)[T]>;

export const EventTypes = Object.keys(EventPayloadSchemas) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EventPayloadSchemas, type);
}

/** What travels on a stream: the payload is checked against its type's schema separately. */
export const EventEnvelopeSchema = Type.Object({
  id: UuidSchema,
  type: Type.String({ pattern: '^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+\\.v[0-9]+$' }),
  source: Type.String({ minLength: 1 }),
  occurredAt: TimestampSchema,
  payload: Type.Unknown(),
});

export interface EventEnvelope<T extends EventType = EventType> {
  /** Unique per event; consumers deduplicate on it. */
  id: string;
  type: T;
  /** The producing service. */
  source: string;
  /** ISO 8601, UTC: when the change committed in the producer (give or take the transaction). */
  occurredAt: string;
  payload: EventPayload<T>;
}

/** Any one event, narrowed by `type`. */
export type AnyEventEnvelope = { [T in EventType]: EventEnvelope<T> }[EventType];
