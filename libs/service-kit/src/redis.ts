import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
  }
}

/**
 * One ioredis client per service instance. Unlike @fastify/redis, start-up does not wait for
 * Redis: a service starts (and reports not-ready) while Redis is down, and reconnects by itself.
 * Commands fail fast while it is down, so no request hangs on Redis. `requiredForReadiness: false`
 * reports Redis (in `/health/ready`'s body and `service_dependency_up`) without failing readiness.
 */
export function installRedis(app: FastifyInstance, options: { url: string; keyPrefix: string; requiredForReadiness?: boolean }): Redis {
  const redis = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  redis.on('error', (error) => app.log.warn({ err: error }, 'redis connection error'));
  app.decorate('redis', redis);
  // Whether a service can serve without Redis is its own decision (see each app's `installRedis` call).
  app.addReadinessCheck('redis', () => redis.ping(), { required: options.requiredForReadiness ?? true });
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  return redis;
}
