import { createDataSource } from '@shop/db';
import { loadConfig } from '@shop/service-kit';
import { Type } from '@sinclair/typebox';
import { Redis } from 'ioredis';
import { ProductCache } from './cache/product-cache';
import { CatalogConfigSchema } from './config';
import { catalogSchema } from './database';
import { Catalog } from './domain/catalog';
import { DEMO_CATALOG, seedDemoCatalog } from './domain/demo-catalog';

/**
 * Loads the demo catalog into DATABASE_URL (Nx target `seed`, after `migrate`). Idempotent.
 * Writes go through the same domain functions as the API, and invalidate the running service's
 * cache, which is why this needs the service's REDIS_URL and REDIS_KEY_PREFIX.
 */
const { DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, STORE_CURRENCY } = loadConfig(
  Type.Pick(CatalogConfigSchema, ['DATABASE_URL', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'STORE_CURRENCY']),
);

const db = createDataSource({ url: DATABASE_URL, poolSize: 2, ...catalogSchema });
await db.initialize();
const redis = new Redis(REDIS_URL, { keyPrefix: REDIS_KEY_PREFIX, maxRetriesPerRequest: 1, commandTimeout: 1_000, connectTimeout: 2_000 });
redis.on('error', () => undefined); // reported below, once, if it matters
const log = { warn: (_details: object, message: string) => process.stderr.write(`${message}\n`) };
const cache = new ProductCache(redis, log, { productTtlSeconds: 300, listTtlSeconds: 60 });

try {
  const report = await seedDemoCatalog(new Catalog(db, cache, { currency: STORE_CURRENCY }));
  const total = DEMO_CATALOG.reduce((sum, category) => sum + category.products.length, 0);
  process.stdout.write(
    `categories: ${report.categoriesCreated} created, ${report.categoriesFound} already there; ` +
      `products: ${report.productsCreated} created, ${report.productsFound} already there (of ${total})\n`,
  );
  if (!(await cache.drain(5_000))) {
    process.stderr.write(`Redis at ${REDIS_URL} did not answer: the running service may list the old catalog for up to LIST_CACHE_TTL_SECONDS\n`);
  }
} finally {
  cache.close();
  redis.disconnect();
  await db.destroy();
}
