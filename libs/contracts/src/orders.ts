// Orders: the public order API.
import { Type, type Static } from '@sinclair/typebox';
import { MAX_PRICE_CENTS } from './catalog';
import { PageSchema, TimestampSchema, UuidSchema } from './common';

export const OrderStatuses = ['pending', 'confirmed', 'rejected', 'cancelled'] as const;
export const OrderStatusSchema = Type.Union(OrderStatuses.map((status) => Type.Literal(status)));
export type OrderStatus = Static<typeof OrderStatusSchema>;

export const MAX_ORDER_LINES = 50;
export const MAX_LINE_QUANTITY = 1000;

export const PlaceOrderBodySchema = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          productId: UuidSchema,
          quantity: Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_ORDER_LINES, description: 'Distinct products; prices come from the catalog' },
    ),
  },
  { additionalProperties: false },
);
export type PlaceOrderBody = Static<typeof PlaceOrderBodySchema>;

/** Cancelling takes no fields: the body may be omitted or `{}`; anything in it is refused (no mass assignment). */
export const CancelOrderBodySchema = Type.Object({}, { additionalProperties: false });
export type CancelOrderBody = Static<typeof CancelOrderBodySchema>;

export const OrderItemSchema = Type.Object({
  productId: UuidSchema,
  /** Known once the catalog has reserved the stock; null while pending or when rejected. */
  sku: Type.Union([Type.String(), Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()]),
  quantity: Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY }),
  /** The catalog's price when reserved. A line's and an order's total may pass 2^31 (price × quantity). */
  unitPriceCents: Type.Union([Type.Integer({ minimum: 0, maximum: MAX_PRICE_CENTS }), Type.Null()]),
  lineTotalCents: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
});
export type OrderItem = Static<typeof OrderItemSchema>;

export const OrderSchema = Type.Object(
  {
    id: UuidSchema,
    userId: UuidSchema,
    status: OrderStatusSchema,
    items: Type.Array(OrderItemSchema),
    totalCents: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    currency: Type.String(),
    rejectionReason: Type.Union([Type.String(), Type.Null()], { description: 'Set only when rejected: out_of_stock, product_not_found, ...' }),
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
  },
  { $id: 'Order' },
);
export type Order = Static<typeof OrderSchema>;
export const OrderPageSchema = PageSchema(OrderSchema, { $id: 'OrderPage' });

export const OrderListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  status: Type.Optional(OrderStatusSchema),
  userId: Type.Optional(UuidSchema),
});
export type OrderListQuery = Static<typeof OrderListQuerySchema>;

/** Pushed over the WebSocket at GET /v1/orders/events each time one of the caller's orders changes. */
export const OrderUpdatedMessageSchema = Type.Object({
  type: Type.Literal('order.updated'),
  order: OrderSchema,
});
export type OrderUpdatedMessage = Static<typeof OrderUpdatedMessageSchema>;

/**
 * Why the server closed a WebSocket (RFC 6455 private-use codes, 4000–4999), beside the
 * standard 1001 (server shutting down). A client reconnects after 4001 with a fresh token,
 * never after 4003.
 */
export const SocketCloseCodes = {
  /** The token expired, or was revoked (signed out, or the user's rights changed): refresh it and reconnect. */
  TOKEN_EXPIRED_OR_REVOKED: 4001,
  /** The account (or an API key's creator) is disabled, or the caller may not hold this socket. */
  FORBIDDEN: 4003,
} as const;

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const MAX_PREFER_WAIT_SECONDS = 10;

export const PlaceOrderHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'Replays the first response for 24 hours' })),
  prefer: Type.Optional(Type.String({ description: `wait=N (N ≤ ${MAX_PREFER_WAIT_SECONDS}): answer once the order leaves pending` })),
});

export const CancelOrderHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'Replays the first response for 24 hours' })),
});

/** The WebSocket's credentials, for clients that cannot set a header (browsers). */
export const OrderEventsQuerySchema = Type.Object({
  access_token: Type.Optional(Type.String({ maxLength: 4096, description: 'The access token, for clients that cannot send an Authorization header' })),
});
