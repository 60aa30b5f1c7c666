import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { PublicOperation } from '@shop/contracts';
import { sendProblem } from '@shop/service-kit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import type { GatewayConfig } from '../../config';
import type { EdgeIdentity } from '../../identity/edge-identity';
import { accessLoggedRouteLevel } from '../../observability/access-log';
import { traceOfRequest } from '../../observability/trace-context';
import { limiterOf, type RateLimiters } from '../../protection/rate-limits';
import type { SocketLimits } from '../../protection/socket-limits';
import { clientResponseHeaders } from '../../upstream/forward-headers';
import type { Upstream } from '../../upstream/upstream';
import { UpstreamError } from '../../upstream/upstream-error';
import { classifyHandshakeError, sendableCloseCode } from '../../upstream/websocket-close';

export interface OrdersEventsOptions {
  operation: PublicOperation;
  upstream: Upstream;
  identity: EdgeIdentity;
  limiters: RateLimiters;
  socketLimits: SocketLimits;
  config: GatewayConfig;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The upstream end of a WebSocket being proxied, opened before the client's upgrade is accepted. */
    upstreamSocket: WebSocket | null;
  }
}

/** The handshake was answered, but not with an upgrade (e.g. a 401 problem): passed on as it is. */
interface RefusedHandshake {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * `GET /v1/orders/events`: the client's WebSocket, proxied to the orders service. The token
 * (Authorization header or `access_token` query parameter) is verified at the edge; upstream
 * it travels as an Authorization header only, never in a URL. The upstream connection is made
 * before the client's upgrade is accepted, so an orders service that is down or refuses gives
 * the client a plain HTTP answer (a problem), never a socket that opens and dies.
 *
 * Each user may hold WS_MAX_PER_USER sockets and each client address WS_MAX_PER_ADDRESS, across
 * replicas; one more is refused before the upgrade with a 429 problem naming the cap. The socket
 * lives no longer than its token's authority: the orders service closes it (4001/4003) and the
 * close code comes through unchanged.
 */
const ordersEventsRoute: FastifyPluginAsync<OrdersEventsOptions> = async (app, { operation, upstream, identity, limiters, socketLimits, config }) => {
  app.decorateRequest('upstreamSocket', null);

  const upstreamUrlOf = (requestUrl: string) => {
    const url = new URL(requestUrl, upstream.url);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.delete('access_token');
    return url.toString();
  };

  const openUpstream = (request: FastifyRequest, traceparent: string) =>
    new Promise<WebSocket | RefusedHandshake>((resolve, reject) => {
      const accessToken = request.edgeCredentials?.accessToken;
      const socket = new WebSocket(upstreamUrlOf(request.url), {
        handshakeTimeout: config.UPSTREAM_CONNECT_TIMEOUT_MS,
        perMessageDeflate: false,
        headers: {
          'x-request-id': request.id,
          traceparent,
          'x-forwarded-for': request.ip,
          ...(accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` }),
        },
      });
      socket.once('open', () => {
        // Nothing may be read before the client's side is wired up (it would be dropped).
        socket.pause();
        resolve(socket);
      });
      socket.once('unexpected-response', (_request, response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () => resolve({ statusCode: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
        response.once('error', reject);
      });
      socket.once('error', reject);
    });

  app.route({
    method: 'GET',
    url: operation.path,
    logLevel: accessLoggedRouteLevel(config.LOG_LEVEL),
    config: { accessLog: true, operationId: operation.operationId },
    exposeHeadRoute: false,
    schema: { hide: true },
    onRequest: [identity.identify(operation), limiterOf(limiters, operation), identity.authenticate(operation)],
    preHandler: async (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.ws) return;
      const trace = traceOfRequest(request.headers.traceparent);
      request.traceId = trace.traceId;
      const lease = await socketLimits.acquire(request.principal!.userId, request.ip);
      // The upgraded socket is this TCP connection: its end is the socket's end, however it comes.
      request.raw.socket.once('close', () => lease.release());
      let opened: WebSocket | RefusedHandshake;
      try {
        opened = await upstream.guarded(() => openUpstream(request, trace.traceparent), classifyHandshakeError);
      } catch (error) {
        lease.release();
        if (!(error instanceof UpstreamError)) throw error;
        request.log.warn({ upstream: upstream.name, failure: error.failure, err: error.cause }, 'upstream WebSocket failed');
        throw error.toAppError();
      }
      if (!(opened instanceof WebSocket)) lease.release();
      if (opened instanceof WebSocket) {
        request.upstreamSocket = opened;
        // If the client's upgrade never completes, the upstream end must not linger.
        request.raw.socket.once('close', () => {
          if (request.upstreamSocket === opened) opened.terminate();
        });
        return;
      }
      return reply.code(opened.statusCode).headers(clientResponseHeaders(opened.headers)).send(opened.body);
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      reply.header('upgrade', 'websocket');
      return sendProblem(request, reply, 'GATEWAY_UPGRADE_REQUIRED', 'Open this route as a WebSocket');
    },
    wsHandler: (client: WebSocket, request: FastifyRequest) => {
      const upstreamSocket = request.upstreamSocket!;
      // Adopted: from now on the two ends close each other.
      request.upstreamSocket = null;
      const openedAt = Date.now();
      const forward = (to: WebSocket) => (data: RawData, isBinary: boolean) => {
        if (to.readyState === WebSocket.OPEN) to.send(data, { binary: isBinary });
      };
      upstreamSocket.on('message', forward(client));
      client.on('message', forward(upstreamSocket));

      let closed = false;
      const closeBoth = (code: number, reason: Buffer, by: 'client' | 'upstream') => {
        if (closed) return;
        closed = true;
        const other = by === 'client' ? upstreamSocket : client;
        if (other.readyState === WebSocket.OPEN || other.readyState === WebSocket.CONNECTING) other.close(sendableCloseCode(code), reason);
        app.log.info(
          { requestId: request.id, traceId: request.traceId, route: operation.path, upstream: upstream.name, statusCode: 101, closedBy: by, closeCode: code, durationMs: Date.now() - openedAt, principal: request.principal?.userId },
          'websocket closed',
        );
      };
      upstreamSocket.once('close', (code, reason) => closeBoth(code, reason, 'upstream'));
      client.once('close', (code, reason) => closeBoth(code, reason, 'client'));
      upstreamSocket.on('error', (error) => {
        request.log.warn({ err: error, upstream: upstream.name }, 'upstream WebSocket error');
        client.terminate();
      });
      client.on('error', () => upstreamSocket.terminate());
      // The upstream may have hung up between its handshake and ours.
      if (upstreamSocket.readyState !== WebSocket.OPEN) closeBoth(1011, Buffer.from('upstream closed'), 'upstream');
      else upstreamSocket.resume();
    },
  });
};

export default ordersEventsRoute;
