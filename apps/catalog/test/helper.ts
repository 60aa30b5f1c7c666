import { randomUUID } from 'node:crypto';
import type { EventPayload, EventType } from '@shop/contracts';
import { createDataSource, withTransaction } from '@shop/db';
import { addOutboxTraceContextMigration, appendEvent, createOutboxConsumedMigration, createOutboxMigration, OutboxRelay } from '@shop/events';
import { loadConfig } from '@shop/service-kit';
import { buildTestService, createTestDatabase, createTestTokenIssuer, TEST_REDIS_URL, waitFor, type Teardown } from '@shop/testing';
import { Redis } from 'ioredis';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type BuildOptions } from '../src/app';
import { CatalogConfigSchema, type CatalogConfig } from '../src/config';
import { catalogSchema } from '../src/database';

/** Builds the catalog on a fresh database and Redis prefix of its own, with real tokens; closed and dropped on teardown. */
export async function build(t: Teardown, overrides: Partial<Record<keyof CatalogConfig, string>> = {}, options: BuildOptions = {}) {
  const issuer = await createTestTokenIssuer();
  let config!: CatalogConfig;
  const { app, env } = await buildTestService(t, {
    label: 'catalog',
    schema: catalogSchema,
    build: async (testEnv) => {
      config = loadConfig(CatalogConfigSchema, { ...testEnv, EVENTS_CONSUMER_NAME: `test-${randomUUID()}`, ...overrides });
      // A short blocking read, so closing the app does not wait a second for the consumer.
      return buildApp(config, { verificationKeys: issuer.verificationKeys, consumer: { blockMs: 200 }, ...options });
    },
  });
  // Privileged tokens are refused while the authorization state cannot be read: tests start settled.
  if (overrides.REDIS_URL === undefined) await waitFor('redis', () => app.redis.status === 'ready', 10_000);
  const admin = bearer(await issuer.tokenFor({ role: 'admin' }));
  const customer = bearer(await issuer.tokenFor({ role: 'customer' }));
  return { app, env, config, issuer, admin, customer };
}

export type App = Awaited<ReturnType<typeof build>>['app'];

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

export type ProductBody = {
  sku: string;
  name: string;
  description?: string | null;
  priceCents: number;
  currency?: string;
  categoryId?: string | null;
  tags?: string[];
  stock: number;
};

export interface ProductJson extends Required<ProductBody> {
  id: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export function productBody(overrides: Partial<ProductBody> = {}): ProductBody {
  return {
    sku: `SKU-${randomUUID().slice(0, 8)}`,
    name: 'Walnut desk lamp',
    description: 'A warm reading light with a solid walnut base.',
    priceCents: 4_999,
    tags: ['lighting', 'home'],
    stock: 10,
    ...overrides,
  };
}

export async function createProduct(app: App, headers: Record<string, string>, overrides: Partial<ProductBody> = {}): Promise<ProductJson> {
  const response = await app.inject({ method: 'POST', url: '/v1/products', headers, payload: productBody(overrides) });
  if (response.statusCode !== 201) throw new Error(`create product failed: ${response.statusCode} ${response.body}`);
  return response.json<ProductJson>();
}

export async function createCategory(app: App, headers: Record<string, string>, body: { name: string; slug?: string; description?: string | null }) {
  const response = await app.inject({ method: 'POST', url: '/v1/categories', headers, payload: body });
  if (response.statusCode !== 201) throw new Error(`create category failed: ${response.statusCode} ${response.body}`);
  return response.json<{ id: string; name: string; slug: string; description: string | null; createdAt: string; updatedAt: string }>();
}

/** Every problem body has the RFC 9457 members and a stable code. */
export function problemOf(response: LightMyRequestResponse) {
  return response.json<{ type: string; title: string; status: number; detail?: string; code: string; requestId: string; instance: string; errors?: { path: string; message: string }[] }>();
}

/** An event as the catalog's outbox holds it. */
export interface OutboxEvent<T extends EventType = EventType> {
  eventId: string;
  type: T;
  payload: EventPayload<T>;
  published: boolean;
}

/** The catalog's outbox, in order; `types` narrows it. */
export async function outboxEvents(app: App, ...types: EventType[]): Promise<OutboxEvent[]> {
  const rows: { event_id: string; type: EventType; payload: never; published_at: Date | null }[] = await app.db.query(
    `SELECT event_id, type, payload, published_at FROM outbox ${types.length > 0 ? 'WHERE type = ANY($1)' : ''} ORDER BY position`,
    types.length > 0 ? [types] : [],
  );
  return rows.map((row) => ({ eventId: row.event_id, type: row.type, payload: row.payload, published: row.published_at !== null }));
}

/**
 * Plays orders' part of the saga through the real mechanism: an outbox of its own, relayed to
 * `events:orders` under the catalog's Redis prefix, where the catalog's consumer reads it.
 */
export async function fakeOrders(t: Teardown, redisKeyPrefix: string) {
  const database = await createTestDatabase('fake_orders');
  const dataSource = createDataSource({ url: database.url, entities: [], migrations: [createOutboxMigration(1763712100001), createOutboxConsumedMigration(1763712100002), addOutboxTraceContextMigration(1763712100011)] });
  await dataSource.initialize();
  await dataSource.runMigrations();
  const redis = new Redis(TEST_REDIS_URL, { keyPrefix: redisKeyPrefix });
  const relay = new OutboxRelay({ dataSource, redis, name: 'orders', pollIntervalMs: 50 });
  relay.start();
  t.teardown(async () => {
    await relay.stop();
    redis.disconnect();
    await dataSource.destroy();
    await database.drop();
  });
  const userId = randomUUID();
  return {
    redis,
    placed: (orderId: string, items: { productId: string; quantity: number }[]) =>
      withTransaction(dataSource, (manager) => appendEvent(manager, { type: 'order.placed.v1', source: 'orders', payload: { orderId, userId, items } })),
    cancelled: (orderId: string) =>
      withTransaction(dataSource, (manager) => appendEvent(manager, { type: 'order.cancelled.v1', source: 'orders', payload: { orderId, userId } })),
  };
}
