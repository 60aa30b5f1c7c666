import { createDataSource } from '@shop/db';
import { runDeadLetterCommand } from '@shop/events';
import { loadConfig } from '@shop/service-kit';
import { Type } from '@sinclair/typebox';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { EntitySubscriberInterface } from 'typeorm';
import { productCacheInvalidator } from './cache/invalidate-after-commit';
import { ProductCache } from './cache/product-cache';
import { CatalogConfigSchema } from './config';
import { orderEventHandlers } from './consumers/order-events';
import { catalogSchema } from './database';
import { createCatalogMetrics } from './observability/metrics';

/**
 * The operator's command on the catalog's dead letters (Nx target `dead-letters`, `node
 * dist/dead-letters.js` in the image): list, show, redrive or discard. A re-driven event goes
 * through the consumer's own handler, so its answer to orders lands in the outbox for the running
 * service's relay, and the stock it moves is invalidated in the running service's cache (which is
 * why this needs REDIS_URL and REDIS_KEY_PREFIX too).
 */
const { DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX } = loadConfig(
  // Partial: the cache TTLs do not matter here, only the address and prefix of the service's Redis.
  Type.Pick(CatalogConfigSchema, ['DATABASE_URL', 'REDIS_URL', 'REDIS_KEY_PREFIX']),
);
const dataSource = createDataSource({ url: DATABASE_URL, poolSize: 2, ...catalogSchema });
await dataSource.initialize();
const redis = new Redis(REDIS_URL, { keyPrefix: REDIS_KEY_PREFIX, maxRetriesPerRequest: 1, commandTimeout: 1_000, connectTimeout: 2_000 });
redis.on('error', () => undefined); // reported below, once, if it matters
const log = { warn: (_details: object, message: string) => process.stderr.write(`${message}\n`) };
const cache = new ProductCache(redis, log, { productTtlSeconds: 300, listTtlSeconds: 60 });
(dataSource.subscribers as EntitySubscriberInterface[]).push(productCacheInvalidator(cache, log));

try {
  process.exitCode = await runDeadLetterCommand(process.argv.slice(2), {
    dataSource,
    group: 'catalog',
    // A one-off process: its counters go to a registry nobody scrapes (the service's own count the live traffic).
    handlers: orderEventHandlers(createCatalogMetrics(new Registry())),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
  if (!(await cache.drain(5_000))) {
    process.stderr.write(`Redis at ${REDIS_URL} did not answer: the running service may show the old stock for up to PRODUCT_CACHE_TTL_SECONDS\n`);
  }
} finally {
  cache.close();
  redis.disconnect();
  await dataSource.destroy();
}
