// The orders service's public operations: place, list, read and cancel orders, and their live updates.
import { IdParamsSchema } from '../common';
import {
  CancelOrderBodySchema,
  CancelOrderHeadersSchema,
  OrderEventsQuerySchema,
  OrderListQuerySchema,
  OrderPageSchema,
  OrderSchema,
  PlaceOrderBodySchema,
  PlaceOrderHeadersSchema,
} from '../orders';
import { ProblemSchema } from '../problem';
import { Access, defineOperations, noContent, problemResponse } from './operation';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema };
/** An API key is not a customer: it has no orders of its own; orders:read:all lets it read and cancel anyone's. */
const ownersOrReadAll = Access.usersOrKeysWith('orders:read:all');

export const ORDERS_OPERATIONS = defineOperations('orders', {
  createOrder: {
    method: 'POST',
    path: '/v1/orders',
    tags: ['orders'],
    summary: 'Place an order (status pending; the catalog confirms or rejects it)',
    description: 'Prices come from the catalog. Send `Idempotency-Key` to make retries safe, and `Prefer: wait=N` to get the settled order.',
    access: Access.usersOnly,
    timeout: 'long',
    schema: { headers: PlaceOrderHeadersSchema, body: PlaceOrderBodySchema, response: { 201: OrderSchema, ...problems } },
  },
  listOrders: {
    method: 'GET',
    path: '/v1/orders',
    tags: ['orders'],
    summary: "The caller's orders, newest first (everyone's with orders:read:all)",
    access: ownersOrReadAll,
    schema: { querystring: OrderListQuerySchema, response: { 200: OrderPageSchema, ...problems } },
  },
  orderEvents: {
    method: 'GET',
    path: '/v1/orders/events',
    tags: ['orders'],
    summary: 'Live updates of your orders (WebSocket)',
    description:
      'Open as a WebSocket (`Upgrade: websocket`). Authenticate with `Authorization: Bearer <token>` or, where a client cannot set headers ' +
      '(browsers), the `access_token` query parameter. The server then sends one JSON text message `{"type": "order.updated", "order": Order}` ' +
      'each time one of your orders changes. A plain HTTP request gets 426. At most 5 sockets per user and 20 per client address ' +
      '(configurable): one more gets 429 `GATEWAY_TOO_MANY_SOCKETS`. The server closes the socket with 4001 when the token expires or is ' +
      'revoked (signed out, or your rights changed: reconnect with a fresh token), and with 4003 when the account is disabled.',
    access: Access.usersOnly,
    websocket: true,
    schema: {
      querystring: OrderEventsQuerySchema,
      response: {
        101: noContent('Switching Protocols: the WebSocket is open'),
        401: ProblemSchema,
        403: problemResponse('The account is disabled, or an API key (it has no orders of its own)'),
        426: problemResponse('Not a WebSocket upgrade request'),
        429: problemResponse('Too many open WebSockets for this user or address'),
      },
    },
  },
  getOrder: {
    method: 'GET',
    path: '/v1/orders/:id',
    tags: ['orders'],
    summary: 'One order (the owner, or orders:read:all)',
    access: ownersOrReadAll,
    schema: { params: IdParamsSchema, response: { 200: OrderSchema, ...problems } },
  },
  cancelOrder: {
    method: 'POST',
    path: '/v1/orders/:id/cancel',
    tags: ['orders'],
    summary: 'Cancel an order; the stock it held goes back',
    access: ownersOrReadAll,
    bodyOptional: true,
    schema: { headers: CancelOrderHeadersSchema, params: IdParamsSchema, body: CancelOrderBodySchema, response: { 200: OrderSchema, ...problems } },
  },
});
