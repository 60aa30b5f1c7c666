import { runMigrations, type DataSourceOptions } from '@shop/db';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, TEST_REDIS_URL, type Teardown } from './test-database';
import { createTestRedisPrefix } from './test-redis';

export interface TestServiceEnv {
  DATABASE_URL: string;
  REDIS_URL: string;
  REDIS_KEY_PREFIX: string;
  LOG_LEVEL: string;
}

export interface BuildTestServiceOptions<App extends FastifyInstance> {
  /** Used to name the database and the Redis prefix, so a leftover is easy to trace. */
  label: string;
  /** The service's migrations and entities, applied to the fresh database before the app starts. */
  schema: Omit<DataSourceOptions, 'url'>;
  /** Builds the app from its environment; gets the test's database, Redis prefix and log level. */
  build: (env: TestServiceEnv) => Promise<App>;
}

/**
 * Builds a service the way a test wants it: its own freshly migrated database, its own Redis key
 * prefix, silent logs, and everything closed and dropped when the test ends.
 */
export async function buildTestService<App extends FastifyInstance>(t: Teardown, options: BuildTestServiceOptions<App>): Promise<{ app: App; env: TestServiceEnv }> {
  const database = await createTestDatabase(options.label);
  const redis = createTestRedisPrefix(options.label);
  const built: { app?: App } = {};
  // One teardown, so the order is certain: the app lets go of its connections before the drop.
  t.teardown(async () => {
    await built.app?.close();
    await database.drop();
    await redis.clear();
  });
  await runMigrations({ ...options.schema, url: database.url });
  const env: TestServiceEnv = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: redis.prefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
  const app = await options.build(env);
  built.app = app;
  await app.ready();
  return { app, env };
}
