import { ORDERS_OPERATIONS, SocketCloseCodes, type OrderUpdatedMessage } from '@shop/contracts';
import { AppError, registerOperations } from '@shop/service-kit';
import { inSpan, SpanKind } from '@shop/telemetry';
import { InvalidTokenError, verifyAccessToken, type Principal } from '@shop/token-verifier';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { OrderChange } from '../../domain/order-feed';
import { loadOrder } from '../../domain/orders';
import type { OrdersServices } from '../../services';

/**
 * `GET /v1/orders/events` (WebSocket): `{type: "order.updated", order}` each time one of the
 * caller's orders changes. Lives in the orders service because that is where changes are known
 * first (PostgreSQL NOTIFY from the transaction that made them, on every replica); the gateway
 * only proxies the upgrade. A client that reconnects catches up with `GET /v1/orders`.
 *
 * A socket lives no longer than the authority it was opened with: it is closed with 4001 when
 * its token expires or is revoked (signed out, rights changed), and with 4003 when the account
 * is disabled, checked every FRESHNESS_SWEEP_MS against the same state as every request.
 */
const orderEventRoutes: FastifyPluginAsyncTypebox<{ services: OrdersServices }> = async (app, { services }) => {
  const socketsByUser = new Map<string, Set<WebSocket>>();
  const alive = new WeakSet<WebSocket>();
  const principals = new WeakMap<WebSocket, Principal>();

  const closeFor = (socket: WebSocket, code: number, reason: string) => {
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
  };

  // Every socket's token against its owner's current rights. The freshness cache makes this
  // one Redis round trip per user per second at most, whatever the number of sockets.
  const sweep = setInterval(() => {
    for (const sockets of socketsByUser.values()) {
      for (const socket of sockets) {
        const principal = principals.get(socket);
        if (principal === undefined) continue;
        void services.freshness.check(principal).then((verdict) => {
          if (verdict.state !== 'revoked') return;
          if (verdict.reason === 'disabled') closeFor(socket, SocketCloseCodes.FORBIDDEN, 'account disabled');
          else closeFor(socket, SocketCloseCodes.TOKEN_EXPIRED_OR_REVOKED, verdict.reason === 'grant-revoked' ? 'signed out' : 'token revoked: rights changed');
        });
      }
    }
  }, services.config.WS_FRESHNESS_SWEEP_MS);
  sweep.unref();

  const onChange = async (change: OrderChange) => {
    const sockets = socketsByUser.get(change.userId);
    if (!sockets?.size) return;
    try {
      // In the trace of the change: the order's trace shows when its update reached the sockets.
      await inSpan('push order.updated', { kind: SpanKind.PRODUCER, parent: change.traceContext ?? null, attributes: { 'websocket.connections': sockets.size } }, async () => {
        const order = await loadOrder(services.db, change.orderId);
        if (!order) return;
        const message = JSON.stringify({ type: 'order.updated', order } satisfies OrderUpdatedMessage);
        for (const socket of sockets) if (socket.readyState === socket.OPEN) socket.send(message);
      });
    } catch (error) {
      app.log.warn({ err: error, orderId: change.orderId }, 'could not push an order update');
    }
  };
  services.feed.on('change', onChange);

  // Heartbeats keep idle connections open through proxies and find the dead ones.
  const heartbeat = setInterval(() => {
    for (const sockets of socketsByUser.values()) {
      for (const socket of sockets) {
        if (!alive.has(socket)) {
          socket.terminate();
          continue;
        }
        alive.delete(socket);
        socket.ping();
      }
    }
  }, services.config.WS_HEARTBEAT_MS);
  heartbeat.unref();

  app.addHook('onClose', async () => {
    clearInterval(heartbeat);
    clearInterval(sweep);
    services.feed.off('change', onChange);
    for (const sockets of socketsByUser.values()) for (const socket of sockets) socket.close(1001, 'server shutting down');
  });

  registerOperations(app, ORDERS_OPERATIONS, {
    orderEvents: {
      // Before the declared access is checked: a browser's token comes as `access_token`.
      onRequest: async (request: FastifyRequest) => {
        const token = (request.query as { access_token?: string }).access_token;
        if (request.principal === null && token) {
          try {
            request.principal = await verifyAccessToken(token, services.tokenPolicy);
          } catch (error) {
            const reason = error instanceof InvalidTokenError ? error.message : 'the token is not valid';
            throw new AppError('AUTH_TOKEN_INVALID', reason, { headers: { 'www-authenticate': `Bearer realm="shop", error="invalid_token"` } });
          }
          await services.freshness.authorize(request.principal);
        }
      },
      wsHandler: (socket: WebSocket, request: FastifyRequest) => {
        const principal = request.principal!;
        const userId = principal.userId;
        principals.set(socket, principal);
        const expiry = setTimeout(() => closeFor(socket, SocketCloseCodes.TOKEN_EXPIRED_OR_REVOKED, 'token expired'), Math.max(0, principal.expiresAtMs - Date.now()));
        expiry.unref();
        const sockets = socketsByUser.get(userId) ?? new Set<WebSocket>();
        socketsByUser.set(userId, sockets);
        sockets.add(socket);
        alive.add(socket);
        socket.on('pong', () => alive.add(socket));
        socket.on('close', () => {
          clearTimeout(expiry);
          sockets.delete(socket);
          if (sockets.size === 0) socketsByUser.delete(userId);
        });
      },
    },
  });
};

export default orderEventRoutes;
