import { IDEMPOTENCY_KEY_HEADER, ORDERS_OPERATIONS } from '@shop/contracts';
import { registerOperations, setNextLink } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EntityManager } from 'typeorm';
import type { StoredResponse } from '../../domain/idempotency';
import { assertDistinctProducts, cancelOrder, findVisibleOrder, listOrders, placeOrder, toOrder } from '../../domain/orders';
import { writeOnce } from '../../domain/write-once';
import type { OrdersServices } from '../../services';

/**
 * Place, list, read and cancel orders. Every route needs a signed-in caller; an API key may not
 * place an order and needs orders:read:all for the rest (declared in the contracts' operation table).
 */
const orderRoutes: FastifyPluginAsyncTypebox<{ services: OrdersServices }> = async (app, { services }) => {
  const { db, config, feed } = services;
  const idempotency = { ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS, leaseMs: config.IDEMPOTENCY_LEASE_MS };

  /** Runs a write once per Idempotency-Key (when given) and answers with the first response (see `writeOnce`). */
  async function respondOnce(request: FastifyRequest, reply: FastifyReply, operation: string, work: (manager: EntityManager) => Promise<StoredResponse>) {
    const outcome = await writeOnce(
      { db, feed, idempotency },
      { userId: request.principal!.userId, idempotencyKey: request.headers[IDEMPOTENCY_KEY_HEADER], prefer: String(request.headers.prefer ?? ''), operation, body: request.body ?? null },
      work,
    );
    if (outcome.replayed) reply.header('idempotent-replayed', 'true');
    if (outcome.preferenceApplied) reply.header('preference-applied', outcome.preferenceApplied);
    if (outcome.response.location) reply.header('location', outcome.response.location);
    return reply.code(outcome.response.status).send(outcome.response.body);
  }

  registerOperations(app, ORDERS_OPERATIONS, {
    createOrder: {
      handler: async (request, reply) => {
        assertDistinctProducts(request.body);
        return respondOnce(request, reply, 'POST /v1/orders', async (manager) => {
          const stored = await placeOrder(manager, request.principal!.userId, request.body, config.STORE_CURRENCY);
          return { status: 201, body: toOrder(stored), location: `/v1/orders/${stored.order.id}` };
        });
      },
    },

    listOrders: {
      handler: async (request, reply) => {
        const page = await listOrders(db, request.principal!, request.query);
        setNextLink(request, reply, page.nextCursor);
        return { items: page.rows, nextCursor: page.nextCursor };
      },
    },

    getOrder: {
      handler: async (request) => toOrder(await findVisibleOrder(db, request.principal!, request.params.id)),
    },

    cancelOrder: {
      handler: async (request, reply) =>
        respondOnce(request, reply, `POST /v1/orders/${request.params.id}/cancel`, async (manager) => {
          const stored = await cancelOrder(manager, request.principal!, request.params.id, services.metrics);
          return { status: 200, body: toOrder(stored) };
        }),
    },
  });
};

export default orderRoutes;
