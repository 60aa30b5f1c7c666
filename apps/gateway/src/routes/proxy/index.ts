import { performance } from 'node:perf_hooks';
import type { PublicOperation, UpstreamName } from '@shop/contracts';
import { BODY_LIMIT_BYTES } from '@shop/service-kit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../../config';
import type { EdgeIdentity } from '../../identity/edge-identity';
import { accessLoggedRouteLevel } from '../../observability/access-log';
import { traceOfRequest } from '../../observability/trace-context';
import { limiterOf, type RateLimiters } from '../../protection/rate-limits';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../upstream/forward-headers';
import { isBodiless, type Upstream } from '../../upstream/upstream';
import { UpstreamError } from '../../upstream/upstream-error';

export interface ProxyRoutesOptions {
  /** The operations of the services behind the gateway, HTTP ones only (the WebSocket has its own route). */
  operations: readonly PublicOperation[];
  upstreams: Record<UpstreamName, Upstream>;
  identity: EdgeIdentity;
  limiters: RateLimiters;
  config: GatewayConfig;
}

/**
 * Every public HTTP operation of the operation table, one Fastify route each (the router is the
 * precompiled allow-list), forwarded with undici to the service that owns it. Bodies are taken as raw bytes up to the contract's 1 MiB and
 * never parsed: the service validates them, and its answer (problems included) comes back
 * unchanged: status, headers, body.
 */
const proxyRoutes: FastifyPluginAsync<ProxyRoutesOptions> = async (app, { operations, upstreams, identity, limiters, config }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));

  for (const operation of operations) {
    if (operation.websocket || operation.service === 'gateway') throw new Error(`${operation.operationId} is not an HTTP operation of a service`);
    const upstream = upstreams[operation.service];
    const timeoutMs = operation.timeout === 'long' ? config.UPSTREAM_LONG_TIMEOUT_MS : config.UPSTREAM_TIMEOUT_MS;
    const limiter = limiterOf(limiters, operation);

    app.route({
      // HEAD explicitly: Fastify's automatic HEAD route would replace the service's Content-Length with 0.
      method: operation.method === 'GET' ? ['GET', 'HEAD'] : operation.method,
      exposeHeadRoute: false,
      url: operation.path,
      logLevel: accessLoggedRouteLevel(config.LOG_LEVEL),
      config: { accessLog: true, operationId: operation.operationId },
      schema: { hide: true },
      onRequest: [identity.identify(operation), limiter, identity.authenticate(operation)],
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const trace = traceOfRequest(request.headers.traceparent);
        request.traceId = trace.traceId;
        const body = request.body as Buffer | undefined;
        const accessToken = request.edgeCredentials?.accessToken;
        const started = performance.now();
        try {
          const response = await upstream.send({
            method: request.method,
            path: request.url,
            headers: upstreamRequestHeaders(request.headers, {
              requestId: request.id,
              traceparent: trace.instrumented ? undefined : trace.traceparent,
              clientAddress: request.ip,
              protocol: request.protocol,
              host: request.headers.host,
              authorization: accessToken === undefined ? undefined : `Bearer ${accessToken}`,
            }),
            ...(body !== undefined && body.length > 0 ? { body } : {}),
            timeoutMs,
            repeatable: operation.retry === 'idempotent' || request.headers['idempotency-key'] !== undefined,
          });
          request.upstreamTiming = { upstream: upstream.name, ms: performance.now() - started, attempts: response.attempts };
          const withoutContent = response.statusCode === 204 || response.statusCode === 304;
          reply.code(response.statusCode).headers(clientResponseHeaders(response.headers, withoutContent));
          // Whatever bytes a sloppy service sent with a HEAD, 204 or 304 answer are not content.
          return response.body.length > 0 && !isBodiless(request.method, response.statusCode) ? reply.send(response.body) : reply.send();
        } catch (error) {
          if (!(error instanceof UpstreamError)) throw error;
          request.upstreamTiming = { upstream: upstream.name, ms: performance.now() - started, attempts: 0 };
          request.log.warn({ upstream: upstream.name, failure: error.failure, err: error.cause }, 'upstream failed');
          throw error.toAppError();
        }
      },
    });
  }
};

export default proxyRoutes;
