import {
  CancelOrderBodySchema,
  IDEMPOTENCY_KEY_HEADER,
  IdParamsSchema,
  MAX_PREFER_WAIT_SECONDS,
  OrderListQuerySchema,
  OrderPageSchema,
  OrderSchema,
  PlaceOrderBodySchema,
  ProblemSchema,
  type Order,
} from '@shop/contracts';
import { AppError, setNextLink } from '@shop/service-kit';
import { inSpan } from '@shop/telemetry';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EntityManager } from 'typeorm';
import { assertSaneKey, fingerprintOf, runIdempotently, updateStoredResponse, type StoredResponse } from '../../domain/idempotency';
import { assertDistinctProducts, cancelOrder, findVisibleOrder, listOrders, placeOrder, toOrder } from '../../domain/orders';
import { preferredWaitSeconds, waitForOrderToSettle } from '../../domain/wait-for-order';
import type { OrdersServices } from '../../services';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema };
const WriteHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'Replays the first response for 24 hours' })),
  prefer: Type.Optional(Type.String({ description: `wait=N (N ≤ ${MAX_PREFER_WAIT_SECONDS}): answer once the order leaves pending` })),
});

/** Place, list, read and cancel orders. Every route needs a signed-in caller. */
const orderRoutes: FastifyPluginAsyncTypebox<{ services: OrdersServices }> = async (app, { services }) => {
  const { db, config, feed } = services;
  const idempotency = { ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS, leaseMs: config.IDEMPOTENCY_LEASE_MS };
  app.addHook('onRequest', app.requireAuth);
  // An API key is not a customer: it has no orders of its own and may do only what its scopes
  // grant. orders:read:all lets it read and cancel any order; nothing lets it place one.
  app.addHook('onRequest', async (request) => {
    const principal = request.principal!;
    if (principal.kind !== 'api-key') return;
    if (request.method === 'POST' && request.routeOptions.url === '/v1/orders') {
      throw new AppError('AUTH_USER_REQUIRED', 'Orders are placed by signed-in users; an API key cannot place one');
    }
    if (!principal.scopes.includes('orders:read:all')) {
      throw new AppError('AUTH_SCOPE_REQUIRED', 'An API key needs the scope orders:read:all here', {
        headers: { 'www-authenticate': 'Bearer realm="shop", error="insufficient_scope", error_description="requires orders:read:all"' },
      });
    }
  });

  /** Runs a write once per Idempotency-Key (when given) and answers with the first response. */
  async function respondOnce(request: FastifyRequest, reply: FastifyReply, operation: string, work: (manager: EntityManager) => Promise<StoredResponse>) {
    const key = request.headers[IDEMPOTENCY_KEY_HEADER];
    const waitSeconds = preferredWaitSeconds(String(request.headers.prefer ?? ''), MAX_PREFER_WAIT_SECONDS);
    let response: StoredResponse;
    let claim: { userId: string; key: string } | null = null;
    if (typeof key === 'string') {
      assertSaneKey(key);
      claim = { userId: request.principal!.userId, key };
      const outcome = await runIdempotently(db, idempotency, { ...claim, fingerprint: fingerprintOf(operation, request.body ?? null) }, work);
      if (outcome.replayed) {
        reply.header('idempotent-replayed', 'true');
        if (outcome.response.location) reply.header('location', outcome.response.location);
        return reply.code(outcome.response.status).send(outcome.response.body);
      }
      response = outcome.response;
    } else {
      response = await db.transaction((manager) => work(manager));
    }

    if (waitSeconds !== null) {
      const order = response.body as Order;
      const settled =
        order.status === 'pending'
          ? await inSpan('wait for order to settle', { attributes: { 'shop.prefer_wait_seconds': waitSeconds } }, () => waitForOrderToSettle(db, feed, order.id, waitSeconds))
          : order;
      response = { ...response, body: settled ?? order };
      reply.header('preference-applied', `wait=${waitSeconds}`);
      if (claim) await updateStoredResponse(db, claim, response);
    }
    if (response.location) reply.header('location', response.location);
    return reply.code(response.status).send(response.body);
  }

  app.post('/v1/orders', {
    schema: {
      tags: ['orders'],
      summary: 'Place an order (status pending; the catalog confirms or rejects it)',
      description: 'Prices come from the catalog. Send `Idempotency-Key` to make retries safe, and `Prefer: wait=N` to get the settled order.',
      security: [{ bearerAuth: [] }],
      headers: WriteHeadersSchema,
      body: PlaceOrderBodySchema,
      response: { 201: OrderSchema, ...problems },
    },
    handler: async (request, reply) => {
      assertDistinctProducts(request.body);
      return respondOnce(request, reply, 'POST /v1/orders', async (manager) => {
        const stored = await placeOrder(manager, request.principal!.userId, request.body, config.STORE_CURRENCY);
        return { status: 201, body: toOrder(stored), location: `/v1/orders/${stored.order.id}` };
      });
    },
  });

  app.get('/v1/orders', {
    schema: {
      tags: ['orders'],
      summary: "The caller's orders, newest first (everyone's with orders:read:all)",
      security: [{ bearerAuth: [] }],
      querystring: OrderListQuerySchema,
      response: { 200: OrderPageSchema, ...problems },
    },
    handler: async (request, reply) => {
      const page = await listOrders(db, request.principal!, request.query);
      setNextLink(request, reply, page.nextCursor);
      return { items: page.rows, nextCursor: page.nextCursor };
    },
  });

  app.get('/v1/orders/:id', {
    schema: {
      tags: ['orders'],
      summary: 'One order (the owner, or orders:read:all)',
      security: [{ bearerAuth: [] }],
      params: IdParamsSchema,
      response: { 200: OrderSchema, ...problems },
    },
    handler: async (request) => toOrder(await findVisibleOrder(db, request.principal!, request.params.id)),
  });

  app.post('/v1/orders/:id/cancel', {
    schema: {
      tags: ['orders'],
      summary: 'Cancel an order; the stock it held goes back',
      security: [{ bearerAuth: [] }],
      headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
      params: IdParamsSchema,
      body: CancelOrderBodySchema,
      response: { 200: OrderSchema, ...problems },
    },
    // The body is optional; an absent one is the empty object, so that the schema still refuses any field sent.
    preValidation: (request, _reply, done) => {
      request.body ??= {};
      done();
    },
    handler: async (request, reply) =>
      respondOnce(request, reply, `POST /v1/orders/${request.params.id}/cancel`, async (manager) => {
        const stored = await cancelOrder(manager, request.principal!, request.params.id, services.metrics);
        return { status: 200, body: toOrder(stored) };
      }),
  });
};

export default orderRoutes;
