import { installDatabase } from '@shop/db';
import { EventMetrics, eventStream, OutboxRelay, StreamConsumer } from '@shop/events';
import { createService, installRedis, parseTrustProxy, type ServiceInstance } from '@shop/service-kit';
import { AuthorizationFreshness, installTokenVerifier, remoteJwks } from '@shop/token-verifier';
import type { JWTVerifyGetKey } from 'jose';
import type { DestinationStream } from 'pino';
import type { EntitySubscriberInterface } from 'typeorm';
import { productCacheInvalidator } from './cache/invalidate-after-commit';
import { ProductCache } from './cache/product-cache';
import { algorithmsOf, type CatalogConfig } from './config';
import { orderEventHandlers } from './consumers/order-events';
import { catalogSchema } from './database';
import { Catalog } from './domain/catalog';
import { createCatalogMetrics } from './observability/metrics';
import categoryRoutes from './routes/categories';
import productRoutes from './routes/products';
import type { CatalogServices } from './services';

declare module 'fastify' {
  interface FastifyInstance {
    /** The catalog's reads and writes, cache included: what routes and the seed use. */
    catalog: Catalog;
  }
}

export interface BuildOptions {
  /** Where logs go (tests read them); stdout by default. */
  logStream?: DestinationStream;
  /** Keys that verify access tokens instead of auth's JWKS (tests pass a local issuer's). */
  verificationKeys?: JWTVerifyGetKey;
  /** Overrides for the event consumer (tests shorten the idle time before a reclaim). */
  consumer?: { claimIdleMs?: number; claimIntervalMs?: number; blockMs?: number };
}

/** The catalog service as a Fastify instance: nothing listens, nothing global, so tests build many. */
export async function buildApp(config: CatalogConfig, options: BuildOptions = {}): Promise<ServiceInstance> {
  const app = await createService({
    name: 'catalog',
    version: '1.0.0',
    description: 'Products, categories and stock: the single source of truth for what can be ordered.',
    logLevel: config.LOG_LEVEL,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    trustProxy: parseTrustProxy(config.TRUST_PROXY),
    routeMetrics: config.METRICS_ENABLED,
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });

  // Platform: the service's own database and Redis, and verification of auth's tokens.
  const db = await installDatabase(app, { url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, ...catalogSchema });
  // Ready means the database answers: while Redis is away reads bypass the cache, and the saga's events
  // wait in the outbox and the stream; Redis is reported (service_dependency_up), never a reason to leave rotation.
  const redis = installRedis(app, { url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, requiredForReadiness: false });
  installTokenVerifier(app, {
    keys: options.verificationKeys ?? remoteJwks(config.AUTH_JWKS_URL),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    algorithms: algorithmsOf(config),
    freshness: new AuthorizationFreshness(redis),
  });

  const metrics = createCatalogMetrics(app.metrics.registry);
  const cache = new ProductCache(config.CACHE_ENABLED ? redis : null, app.log, {
    productTtlSeconds: config.PRODUCT_CACHE_TTL_SECONDS,
    listTtlSeconds: config.LIST_CACHE_TTL_SECONDS,
    onLookup: metrics.cacheLookup,
  });
  app.addHook('onClose', async () => cache.close());
  (db.subscribers as EntitySubscriberInterface[]).push(productCacheInvalidator(cache, app.log));
  const catalog = new Catalog(db, cache, { currency: config.STORE_CURRENCY });
  app.decorate('catalog', catalog);

  // The order saga: product and stock events out through the outbox, orders' events in.
  const eventMetrics = new EventMetrics(app.metrics.registry);
  const relay = new OutboxRelay({ dataSource: db, redis, name: 'catalog', logger: app.log, metrics: eventMetrics });
  const consumer = new StreamConsumer({
    redis,
    dataSource: db,
    group: 'catalog',
    consumerName: config.EVENTS_CONSUMER_NAME,
    streams: [eventStream('orders')],
    handlers: orderEventHandlers(metrics),
    maxDeliveries: config.EVENTS_MAX_DELIVERIES,
    claimIdleMs: options.consumer?.claimIdleMs ?? config.EVENTS_CLAIM_IDLE_MS,
    ...(options.consumer?.claimIntervalMs ? { claimIntervalMs: options.consumer.claimIntervalMs } : {}),
    ...(options.consumer?.blockMs ? { blockMs: options.consumer.blockMs } : {}),
    logger: app.log,
    metrics: eventMetrics,
  });
  app.addHook('onReady', async () => {
    relay.start();
    consumer.start();
  });
  // Before the database closes: the consumer finishes (and acknowledges) the event in hand, whose
  // answer the relay may still publish; what it leaves in the outbox the next relay publishes.
  app.addHook('preClose', async () => {
    await consumer.stop();
    await relay.stop();
  });

  const services: CatalogServices = { config, db, catalog };
  await app.register(productRoutes, { services });
  await app.register(categoryRoutes, { services });
  return app;
}
