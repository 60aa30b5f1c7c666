import { performance } from 'node:perf_hooks';
import { BODY_LIMIT_BYTES } from '@shop/service-kit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../../config';
import type { EdgeIdentity } from '../../identity/edge-identity';
import { accessLoggedRouteLevel } from '../../observability/access-log';
import { traceOfRequest } from '../../observability/trace-context';
import type { RateLimiters } from '../../protection/rate-limits';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../upstream/forward-headers';
import { isBodiless, type Upstream } from '../../upstream/upstream';
import { UpstreamError } from '../../upstream/upstream-error';
import type { PublicRoute, UpstreamName } from '../route-table';

export interface ProxyRoutesOptions {
  routes: readonly PublicRoute[];
  upstreams: Record<UpstreamName, Upstream>;
  identity: EdgeIdentity;
  limiters: RateLimiters;
  config: GatewayConfig;
}

/** Methods that may be sent twice with the effect of once (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * Every public HTTP operation, one Fastify route each (the router is the precompiled route
 * table), forwarded with undici. Bodies are taken as raw bytes up to the contract's 1 MiB and
 * never parsed: the service validates them, and its answer (problems included) comes back
 * unchanged: status, headers, body.
 */
const proxyRoutes: FastifyPluginAsync<ProxyRoutesOptions> = async (app, { routes, upstreams, identity, limiters, config }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));

  for (const route of routes) {
    if (route.websocket) continue;
    const upstream = upstreams[route.upstream];
    const timeoutMs = route.timeout === 'long' ? config.UPSTREAM_LONG_TIMEOUT_MS : config.UPSTREAM_TIMEOUT_MS;

    app.route({
      // HEAD explicitly: Fastify's automatic HEAD route would replace the service's Content-Length with 0.
      method: route.method === 'GET' ? ['GET', 'HEAD'] : route.method,
      exposeHeadRoute: false,
      url: route.path,
      logLevel: accessLoggedRouteLevel(config.LOG_LEVEL),
      config: { accessLog: true },
      schema: { hide: true },
      onRequest: [identity.identify(route), limiters[route.rateLimit], identity.authenticate(route)],
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
            repeatable: IDEMPOTENT_METHODS.has(request.method) || request.headers['idempotency-key'] !== undefined,
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
