import { randomUUID } from 'node:crypto';
import type { EventPayload, EventType, Product } from '@shop/contracts';
import { withTransaction } from '@shop/db';
import { loadConfig } from '@shop/service-kit';
import { buildTestService, createTestTokenIssuer, TEST_REDIS_URL, type Teardown } from '@shop/testing';
import { Redis } from 'ioredis';
import type { LightMyRequestResponse } from 'fastify';
import type { DataSource } from 'typeorm';
import { buildApp } from '../src/app';
import { RecommendationsConfigSchema, type RecommendationsConfig } from '../src/config';
import { recommendationsSchema } from '../src/database';
import { countOrder, withdrawOrder } from '../src/domain/order-counting';
import { deleteProduct, saveProduct } from '../src/domain/product-view';

/** Builds the service on a fresh database and Redis prefix, verifying tokens from a stand-in for auth. */
export async function build(t: Teardown, overrides: Partial<Record<keyof RecommendationsConfig, string>> = {}) {
  const issuer = await createTestTokenIssuer();
  let config!: RecommendationsConfig;
  const { app, env } = await buildTestService(t, {
    label: 'recommendations',
    schema: recommendationsSchema,
    build: async (testEnv) => {
      config = loadConfig(RecommendationsConfigSchema, { ...testEnv, EVENTS_CONSUMER_NAME: `test-${randomUUID()}`, ...overrides });
      // A short blocking read, so closing the app does not wait a second for the consumer.
      return buildApp(config, { verificationKeys: issuer.verificationKeys, consumer: { blockMs: 200, claimIdleMs: 300, claimIntervalMs: 100 } });
    },
  });
  return { app, env, config, issuer, shop: new Shop(app.db, config.POPULARITY_HALF_LIFE_DAYS * 86_400) };
}

/**
 * Feeds the model the way its consumers do (the same domain functions, one transaction per
 * event), without a round trip through Redis: for tests about what is recommended, not how
 * events arrive (the consumer tests cover that).
 */
export class Shop {
  private sequence = 0;

  constructor(
    private readonly db: DataSource,
    private readonly halfLifeSeconds: number,
  ) {}

  async product(overrides: Partial<Omit<Product, 'id'>> & { id?: string } = {}): Promise<string> {
    const id = overrides.id ?? randomUUID();
    this.sequence += 1;
    await withTransaction(this.db, (manager) =>
      saveProduct(
        manager,
        {
          productId: id,
          sku: overrides.sku ?? `SKU-${this.sequence}`,
          name: overrides.name ?? `Product ${this.sequence}`,
          description: overrides.description ?? null,
          priceCents: overrides.priceCents ?? 100 * this.sequence,
          currency: overrides.currency ?? 'USD',
          categoryId: overrides.categoryId ?? null,
          tags: overrides.tags ?? [],
          stock: overrides.stock ?? 10,
          version: overrides.version ?? 1,
        },
        new Date().toISOString(),
      ),
    );
    return id;
  }

  async deleteProduct(id: string): Promise<void> {
    await withTransaction(this.db, (manager) => deleteProduct(manager, { productId: id, sku: 'gone' }, new Date().toISOString()));
  }

  /** A confirmed order; returns its id. */
  async order(userId: string, productIds: string[], confirmedAt = new Date()): Promise<string> {
    const orderId = randomUUID();
    await withTransaction(this.db, (manager) => countOrder(manager, { orderId, userId, productIds, confirmedAt: confirmedAt.toISOString() }, this.halfLifeSeconds));
    return orderId;
  }

  async cancel(orderId: string, userId: string): Promise<void> {
    await withTransaction(this.db, (manager) => withdrawOrder(manager, orderId, userId));
  }
}

/** Puts an event on a producer's stream exactly as its outbox relay would (the fields the relay writes). */
export async function publish<T extends EventType>(
  redis: Redis,
  source: 'orders' | 'catalog',
  type: T,
  payload: EventPayload<T>,
  id: string = randomUUID(),
): Promise<string> {
  const envelope = { id, type, source, occurredAt: new Date().toISOString(), payload };
  await redis.xadd(`events:${source}`, '*', 'id', id, 'type', type, 'event', JSON.stringify(envelope));
  return id;
}

export function streamClient(t: Teardown, prefix: string): Redis {
  const redis = new Redis(TEST_REDIS_URL, { keyPrefix: prefix });
  t.teardown(() => redis.disconnect());
  return redis;
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

export function problemOf(response: LightMyRequestResponse) {
  return response.json<{ code: string; status: number; detail?: string; errors?: { path: string; message: string }[] }>();
}

export interface ItemJson {
  product: Product;
  score: number;
  reason: string;
}
