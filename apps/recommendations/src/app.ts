import { installDatabase } from '@shop/db';
import { EventMetrics, eventStream, StreamConsumer } from '@shop/events';
import { createService, installRedis, parseTrustProxy, type ServiceInstance } from '@shop/service-kit';
import { AuthorizationFreshness, installTokenVerifier, remoteJwks } from '@shop/token-verifier';
import type { JWTVerifyGetKey } from 'jose';
import type { DestinationStream } from 'pino';
import { modelSettingsOf, type RecommendationsConfig } from './config';
import { learningEventHandlers } from './consumers/learning-events';
import { recommendationsSchema } from './database';
import { Recommender } from './domain/recommender';
import recommendationRoutes from './routes/recommendations';
import type { RecommendationsServices } from './services';

declare module 'fastify' {
  interface FastifyInstance {
    /** The read side of the model: what routes (and, later, GraphQL resolvers) call. */
    recommender: Recommender;
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

/** The recommendations service as a Fastify instance: nothing listens, nothing global, so tests build many. */
export async function buildApp(config: RecommendationsConfig, options: BuildOptions = {}): Promise<ServiceInstance> {
  const app = await createService({
    name: 'recommendations',
    version: '1.0.0',
    description: 'What is bought together, learnt from confirmed orders: item-to-item collaborative filtering with popularity as the fallback.',
    logLevel: config.LOG_LEVEL,
    trustProxy: parseTrustProxy(config.TRUST_PROXY),
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    routeMetrics: config.METRICS_ENABLED,
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });

  // Platform: the service's own database and Redis, and verification of auth's tokens.
  const db = await installDatabase(app, { url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, ...recommendationsSchema });
  const redis = installRedis(app, { url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX });
  installTokenVerifier(app, {
    keys: options.verificationKeys ?? remoteJwks(config.AUTH_JWKS_URL),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    algorithms: config.JWT_ALGORITHMS.split(','),
    // Who the caller is now: a disabled account or a revoked session is refused within seconds.
    freshness: new AuthorizationFreshness(redis),
  });

  const settings = modelSettingsOf(config);
  const recommender = new Recommender(db, settings);
  app.decorate('recommender', recommender);

  // Learning: sales from orders' stream, products from the catalog's. The service publishes nothing.
  const consumer = new StreamConsumer({
    redis,
    dataSource: db,
    group: 'recommendations',
    consumerName: config.EVENTS_CONSUMER_NAME,
    streams: [eventStream('orders'), eventStream('catalog')],
    handlers: learningEventHandlers(settings),
    maxDeliveries: config.EVENTS_MAX_DELIVERIES,
    claimIdleMs: options.consumer?.claimIdleMs ?? config.EVENTS_CLAIM_IDLE_MS,
    ...(options.consumer?.claimIntervalMs ? { claimIntervalMs: options.consumer.claimIntervalMs } : {}),
    ...(options.consumer?.blockMs ? { blockMs: options.consumer.blockMs } : {}),
    logger: app.log,
    // Consumer lag, pending entries, events applied and deduplicated, dead letters: on the management port.
    metrics: new EventMetrics(app.metrics.registry),
  });
  app.addHook('onReady', async () => consumer.start());
  // Before the database closes: the consumer finishes (and acknowledges) the event in hand.
  app.addHook('preClose', async () => consumer.stop());

  const services: RecommendationsServices = { config, db, recommender };
  await app.register(recommendationRoutes, { services });
  return app;
}
