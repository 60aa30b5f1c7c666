import websocket from '@fastify/websocket';
import { installDatabase } from '@shop/db';
import { EventMetrics, eventStream, OutboxRelay, StreamConsumer } from '@shop/events';
import { createService, installRedis, parseTrustProxy, type ServiceInstance } from '@shop/service-kit';
import { AuthorizationFreshness, installTokenVerifier, remoteJwks, type AccessTokenPolicy } from '@shop/token-verifier';
import type { JWTVerifyGetKey } from 'jose';
import type { DestinationStream } from 'pino';
import type { OrdersConfig } from './config';
import { stockEventHandlers } from './consumers/stock-events';
import { ordersSchema } from './database';
import { purgeExpiredKeys } from './domain/idempotency';
import { OrderChangeFeed } from './domain/order-feed';
import { createOrdersMetrics } from './observability/metrics';
import orderEventRoutes from './routes/order-events';
import orderRoutes from './routes/orders';
import type { OrdersServices } from './services';

export interface BuildOptions {
  logStream?: DestinationStream;
  /** Tests verify tokens with their own keys instead of fetching auth's JWKS. */
  verificationKeys?: JWTVerifyGetKey;
  /** Overrides for the event consumer (tests shorten the idle time before a reclaim). */
  consumer?: { claimIdleMs?: number; claimIntervalMs?: number; blockMs?: number };
}

/** The orders service: the API, the outbox relay, the consumer of the catalog's stock events. */
export async function buildApp(config: OrdersConfig, options: BuildOptions = {}): Promise<ServiceInstance> {
  const app = await createService({
    name: 'orders',
    version: '1.0.0',
    description: 'Orders placed through an event-driven saga with the catalog; idempotency keys; live updates.',
    logLevel: config.LOG_LEVEL,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    trustProxy: parseTrustProxy(config.TRUST_PROXY),
    routeMetrics: config.METRICS_ENABLED,
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  const db = await installDatabase(app, { url: config.DATABASE_URL, ...ordersSchema });
  // Ready means the database answers: while Redis is away orders are still accepted into the outbox, which the
  // relay publishes once Redis is back; Redis is reported (service_dependency_up), never a reason to leave rotation.
  const redis = installRedis(app, { url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, requiredForReadiness: false });
  const tokenPolicy: AccessTokenPolicy = {
    keys: options.verificationKeys ?? remoteJwks(config.AUTH_JWKS_URL),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    algorithms: config.JWT_ALGORITHMS.split(',').map((algorithm) => algorithm.trim()),
  };
  const freshness = new AuthorizationFreshness(redis);
  installTokenVerifier(app, { ...tokenPolicy, freshness });

  const feed = new OrderChangeFeed(config.DATABASE_URL, app.log);
  const metrics = createOrdersMetrics(app.metrics.registry, db);
  const eventMetrics = new EventMetrics(app.metrics.registry);
  const relay = new OutboxRelay({ dataSource: db, redis, name: 'orders', logger: app.log, metrics: eventMetrics });
  const consumer = new StreamConsumer({
    redis,
    dataSource: db,
    group: 'orders',
    consumerName: config.EVENTS_CONSUMER_NAME,
    streams: [eventStream('catalog')],
    handlers: stockEventHandlers(metrics),
    maxDeliveries: config.EVENTS_MAX_DELIVERIES,
    claimIdleMs: options.consumer?.claimIdleMs ?? config.EVENTS_CLAIM_IDLE_MS,
    ...(options.consumer?.claimIntervalMs ? { claimIntervalMs: options.consumer.claimIntervalMs } : {}),
    ...(options.consumer?.blockMs ? { blockMs: options.consumer.blockMs } : {}),
    logger: app.log,
    metrics: eventMetrics,
  });
  let purge: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    await feed.start();
    relay.start();
    consumer.start();
    purge = setInterval(() => void purgeExpiredKeys(db).catch((error) => app.log.warn({ err: error }, 'idempotency key purge failed')), 3_600_000);
    purge.unref();
  });
  // Stop taking work before the database closes: the consumer finishes (and acks) what it holds.
  app.addHook('preClose', async () => {
    clearInterval(purge);
    await Promise.all([consumer.stop(), relay.stop(), feed.stop()]);
  });

  const services: OrdersServices = { config, db, feed, tokenPolicy, freshness, metrics };
  await app.register(orderRoutes, { services });
  await app.register(orderEventRoutes, { services });
  return app;
}
