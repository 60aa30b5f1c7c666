import { randomUUID } from 'node:crypto';
import type { EventPayload } from '@shop/contracts';
import { createDataSource, withTransaction } from '@shop/db';
import { addOutboxTraceContextMigration, appendEvent, createOutboxConsumedMigration, createOutboxMigration, OutboxRelay } from '@shop/events';
import { loadConfig } from '@shop/service-kit';
import { buildTestService, createTestDatabase, createTestTokenIssuer, TEST_REDIS_URL, waitFor, type Teardown } from '@shop/testing';
import { Redis } from 'ioredis';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../src/app';
import { OrdersConfigSchema, type OrdersConfig } from '../src/config';
import { ordersSchema } from '../src/database';

/** Builds orders on a fresh database, verifying tokens from a stand-in for auth. */
export async function build(t: Teardown, overrides: Partial<Record<keyof OrdersConfig, string>> = {}) {
  const tokens = await createTestTokenIssuer();
  const { app, env } = await buildTestService(t, {
    label: 'orders',
    schema: ordersSchema,
    build: async (testEnv) =>
      buildApp(loadConfig(OrdersConfigSchema, { ...testEnv, EVENTS_CONSUMER_NAME: `test-${randomUUID()}`, ...overrides }), {
        verificationKeys: tokens.verificationKeys,
        consumer: { blockMs: 200 },
      }),
  });
  // Privileged tokens are refused while the authorization state cannot be read: tests start settled.
  if (overrides.REDIS_URL === undefined) await waitFor('redis', () => app.redis.status === 'ready', 10_000);
  return { app, env, tokens };
}

/**
 * Plays the catalog's part of the saga through the real mechanism: its own outbox, relayed to
 * `events:catalog` on this test's Redis prefix, which the orders consumer reads.
 */
export async function fakeCatalog(t: Teardown, redisKeyPrefix: string) {
  const database = await createTestDatabase('fake_catalog');
  const dataSource = createDataSource({ url: database.url, entities: [], migrations: [createOutboxMigration(1763712200000), createOutboxConsumedMigration(1763712200001), addOutboxTraceContextMigration(1763712200010)] });
  await dataSource.initialize();
  await dataSource.runMigrations();
  const redis = new Redis(TEST_REDIS_URL, { keyPrefix: redisKeyPrefix });
  const relay = new OutboxRelay({ dataSource, redis, name: 'catalog', pollIntervalMs: 50 });
  relay.start();
  t.teardown(async () => {
    await relay.stop();
    redis.disconnect();
    await dataSource.destroy();
    await database.drop();
  });
  return {
    reserved: (payload: EventPayload<'stock.reserved.v1'>) =>
      withTransaction(dataSource, (manager) => appendEvent(manager, { type: 'stock.reserved.v1', source: 'catalog', payload })),
    rejected: (payload: EventPayload<'stock.rejected.v1'>) =>
      withTransaction(dataSource, (manager) => appendEvent(manager, { type: 'stock.rejected.v1', source: 'catalog', payload })),
  };
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

export function problemOf(response: LightMyRequestResponse) {
  return response.json<{ code: string; status: number; detail?: string; errors?: { path: string; message: string }[] }>();
}
