import cors from '@fastify/cors';
import websocket from '@fastify/websocket';
import { GATEWAY_OPERATIONS, ORDERS_OPERATIONS, PUBLIC_OPERATIONS, type UpstreamName } from '@shop/contracts';
import { ConfigError, createService, installRedis, parseTrustProxy, type ServiceInstance } from '@shop/service-kit';
import { AuthorizationFreshness, remoteJwks, VerifiedTokenCache } from '@shop/token-verifier';
import type { JWTVerifyGetKey } from 'jose';
import type { DestinationStream } from 'pino';
import { corsOriginsOf, jwksUrlOf, type GatewayConfig } from './config';
import { buildOpenApiDocument } from './docs/openapi-document';
import { installGraphql } from './graphql';
import { ApiKeyExchanger } from './identity/api-key-exchange';
import { EdgeIdentity } from './identity/edge-identity';
import { installAccessLog } from './observability/access-log';
import { createGatewayMetrics } from './observability/metrics';
import { installRateLimits, limiterOf } from './protection/rate-limits';
import { installSecurityHeaders } from './protection/security-headers';
import { SocketLimits } from './protection/socket-limits';
import { installDocs } from './routes/docs';
import { installEdgeRouting } from './routes/edge-routing';
import ordersEventsRoute from './routes/orders-events';
import proxyRoutes from './routes/proxy';
import { Upstream } from './upstream/upstream';

export interface BuildOptions {
  /** Where logs go (tests read them); stdout by default. */
  logStream?: DestinationStream;
  /** Keys that verify access tokens, instead of auth's JWKS over HTTP (tests). */
  verificationKeys?: JWTVerifyGetKey;
  /**
   * false: no authorization freshness check at the edge. Only for the benchmark, which measures
   * what the check costs; the services behind still check every request.
   */
  authorizationFreshness?: false;
}

const VERSION = '1.0.0';
/** Response headers a browser script may read. */
const EXPOSED_HEADERS = [
  'x-request-id',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'retry-after',
  'etag',
  'location',
  'link',
  'idempotent-replayed',
  'preference-applied',
  'www-authenticate',
];
const READINESS_PROBE_TIMEOUT_MS = 1_500;

/** The gateway as a Fastify instance: nothing listens, nothing global, so tests build many. */
export async function buildApp(config: GatewayConfig, options: BuildOptions = {}): Promise<ServiceInstance> {
  const corsOrigins = corsOriginsOf(config);
  const badOrigins = corsOrigins.filter((origin) => !isOrigin(origin));
  if (badOrigins.length > 0) {
    throw new ConfigError([`CORS_ORIGINS must list origins such as https://shop.example (never "*": credentials are allowed); got ${badOrigins.join(', ')}`]);
  }

  const app = await createService({
    name: 'gateway',
    version: VERSION,
    description: 'The only public entry point: routing, identity at the edge, rate limits, CORS, and the whole API document.',
    logLevel: config.LOG_LEVEL,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    trustProxy: parseTrustProxy(config.TRUST_PROXY),
    routeMetrics: config.METRICS_ENABLED,
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });
  // First: it must see every route added from here on.
  const edgeRouting = installEdgeRouting(app);

  // Ecosystem plugins.
  installSecurityHeaders(app);
  const allowedOrigins = new Set(corsOrigins);
  // Before the edge's routing hooks, so that an upgrade request answered with a 404 still has its socket closed.
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  edgeRouting.beforeCors((origin) => allowedOrigins.has(origin));
  await app.register(cors, {
    // Reflects an allowed origin; for any other (or none) CORS stays off: no CORS headers at all.
    origin: (origin, callback) => callback(null, origin !== undefined && allowedOrigins.has(origin)),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: config.CORS_MAX_AGE_SECONDS,
    strictPreflight: false,
  });
  edgeRouting.afterCors();

  // Platform.
  // Rate limits fall back to counting in memory per instance while Redis is away: reported, not a readiness failure.
  const redis = installRedis(app, { url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, requiredForReadiness: false });
  const metrics = createGatewayMetrics(app.metrics.registry);
  const limiters = await installRateLimits(app, redis, config, metrics.rateLimited);

  // Decorators: the upstreams and identity at the edge.
  app.decorateRequest('principal', null);
  app.decorateRequest('edgeCredentials', null);
  const upstreamUrls: Record<UpstreamName, string> = {
    auth: config.AUTH_URL,
    catalog: config.CATALOG_URL,
    orders: config.ORDERS_URL,
    recommendations: config.RECOMMENDATIONS_URL,
  };
  const upstreams = Object.fromEntries(
    Object.entries(upstreamUrls).map(([name, url]) => [
      name,
      new Upstream({
        name,
        url,
        connections: config.UPSTREAM_CONNECTIONS,
        connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
        keepAliveMs: config.UPSTREAM_KEEP_ALIVE_MS,
        breaker: { failureThreshold: config.BREAKER_FAILURE_THRESHOLD, resetMs: config.BREAKER_RESET_MS, maxResetMs: config.BREAKER_MAX_RESET_MS },
        retry: {
          max: config.RETRY_MAX,
          baseDelayMs: config.RETRY_BASE_DELAY_MS,
          budgetRatio: config.RETRY_BUDGET_RATIO,
          budgetBurst: config.RETRY_BUDGET_BURST,
        },
      }),
    ]),
  ) as Record<UpstreamName, Upstream>;
  metrics.watchBreakers(Object.values(upstreams));
  for (const upstream of Object.values(upstreams)) {
    app.addReadinessCheck(upstream.name, async () => {
      if (!(await upstream.isReady(READINESS_PROBE_TIMEOUT_MS))) throw new Error(`${upstream.name} is not ready`);
    });
  }
  app.addHook('onClose', async () => {
    await Promise.all(Object.values(upstreams).map((upstream) => upstream.close()));
  });

  const tokens = new VerifiedTokenCache(
    {
      keys: options.verificationKeys ?? remoteJwks(jwksUrlOf(config)),
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      algorithms: config.JWT_ALGORITHMS.split(','),
    },
    config.TOKEN_CACHE_MAX_ENTRIES,
  );
  const apiKeys = new ApiKeyExchanger(upstreams.auth, {
    cacheMs: config.API_KEY_CACHE_MS,
    timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    onResult: metrics.apiKeyExchanged,
  });
  const freshness = options.authorizationFreshness === false ? null : new AuthorizationFreshness(redis);
  const identity = new EdgeIdentity(tokens, freshness, apiKeys, (request) => ({ 'x-request-id': request.id, 'x-forwarded-for': request.ip }));

  // Hooks.
  installAccessLog(app);

  // Routes: every public operation of the services, proxied; the WebSocket has a route of its own.
  await installDocs(app, buildOpenApiDocument(PUBLIC_OPERATIONS, { version: VERSION }), limiterOf(limiters, GATEWAY_OPERATIONS.getOpenApiDocument));
  const proxied = PUBLIC_OPERATIONS.filter((operation) => operation.service !== 'gateway' && !operation.websocket);
  await app.register(proxyRoutes, { operations: proxied, upstreams, identity, limiters, config });
  const orderEvents = ORDERS_OPERATIONS.orderEvents;
  const socketLimits = new SocketLimits(redis, app.log, { maxPerUser: config.WS_MAX_PER_USER, maxPerAddress: config.WS_MAX_PER_ADDRESS });
  app.addHook('onClose', async () => socketLimits.close());
  await app.register(ordersEventsRoute, { operation: orderEvents, upstream: upstreams[orderEvents.service], identity, limiters, socketLimits, config });
  await installGraphql(app, { upstreams, identity, limiters, socketLimits, config });
  return app;
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}
