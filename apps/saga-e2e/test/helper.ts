import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Order, Product } from '@shop/contracts';
import { listDeadLetters } from '@shop/events';
import { loadConfig, type ServiceInstance } from '@shop/service-kit';
import { buildTestService, createTestRedisPrefix, createTestTokenIssuer, startPrivateRedis, TEST_REDIS_URL, waitFor, type Teardown, type TestServiceEnv } from '@shop/testing';

// Shared with every suite that needs them; re-exported so the tests keep importing from here.
export { startPrivateRedis, waitFor };
import { Redis } from 'ioredis';
import type { JWTVerifyGetKey } from 'jose';
import pg from 'pg';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the saga test runs catalog and orders in one process
import { buildApp as buildCatalogApp } from '../../catalog/src/app';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the saga test runs catalog and orders in one process
import { CatalogConfigSchema } from '../../catalog/src/config';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the saga test runs catalog and orders in one process
import { catalogSchema } from '../../catalog/src/database';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the trace test puts the gateway in front of them
import { buildApp as buildGatewayApp } from '../../gateway/src/app';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the trace test puts the gateway in front of them
import { GatewayConfigSchema } from '../../gateway/src/config';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the saga test runs catalog and orders in one process
import { buildApp as buildOrdersApp } from '../../orders/src/app';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the saga test runs catalog and orders in one process
import { OrdersConfigSchema } from '../../orders/src/config';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the saga test runs catalog and orders in one process
import { ordersSchema } from '../../orders/src/database';

export { listDeadLetters, type Order };

/** Short idle times, so entries a crashed consumer left behind are claimed within a test's patience. */
export const FAST_CONSUMER = { claimIdleMs: 500, claimIntervalMs: 200, blockMs: 200 };

type Overrides = Record<string, string>;

export interface SagaOptions {
  /** A Redis of the test's own (an outage test stops it); the shared one otherwise. */
  redisUrl?: string;
  catalog?: Overrides;
  orders?: Overrides;
}

export type Items = { productId: string; quantity: number }[];

/**
 * The catalog and orders, each on a fresh database of its own, sharing one Redis key prefix so
 * that their streams meet, in one process: the whole saga through the real outbox, relay, streams
 * and consumers. Tokens come from a local stand-in for auth. More instances of either service can
 * be started on the same database (replicas, restarts); everything is closed before the databases
 * are dropped.
 */
export class Saga {
  catalog!: ServiceInstance;
  orders!: ServiceInstance;
  catalogEnv!: TestServiceEnv;
  ordersEnv!: TestServiceEnv;
  admin!: Record<string, string>;
  customer!: Record<string, string>;
  /** A client on the shared prefix, to look at the streams. */
  redis!: Redis;
  readonly #extra: ServiceInstance[] = [];

  private constructor(
    readonly prefix: string,
    readonly redisUrl: string,
    readonly options: SagaOptions,
    readonly verificationKeys: JWTVerifyGetKey,
  ) {}

  static async build(t: Teardown, options: SagaOptions = {}): Promise<Saga> {
    const shared = createTestRedisPrefix('saga');
    const tokens = await createTestTokenIssuer();
    const saga = new Saga(shared.prefix, options.redisUrl ?? TEST_REDIS_URL, options, tokens.verificationKeys);
    if (!options.redisUrl) t.teardown(() => shared.clear());
    const catalog = await buildTestService(t, { label: 'saga_catalog', schema: catalogSchema, build: (env) => saga.#buildCatalog(env, 'catalog-1') });
    saga.catalog = catalog.app;
    saga.catalogEnv = catalog.env;
    const orders = await buildTestService(t, { label: 'saga_orders', schema: ordersSchema, build: (env) => saga.#buildOrders(env, 'orders-1') });
    saga.orders = orders.app;
    saga.ordersEnv = orders.env;
    saga.admin = bearer(await tokens.tokenFor({ role: 'admin' }));
    saga.customer = bearer(await tokens.tokenFor({ role: 'customer' }));
    saga.redis = new Redis(saga.redisUrl, { keyPrefix: saga.prefix, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    saga.redis.on('error', () => undefined);
    // Registered last, so it runs first: extra instances close before the databases are dropped.
    t.teardown(async () => {
      await Promise.all(saga.#extra.map((app) => app.close()));
      saga.redis.disconnect();
    });
    return saga;
  }

  #buildCatalog(env: TestServiceEnv, consumerName: string) {
    const config = loadConfig(CatalogConfigSchema, {
      ...env,
      REDIS_URL: this.redisUrl,
      REDIS_KEY_PREFIX: this.prefix,
      EVENTS_CONSUMER_NAME: consumerName,
      DATABASE_POOL_SIZE: '5',
      ...this.options.catalog,
    });
    return buildCatalogApp(config, { verificationKeys: this.verificationKeys, consumer: FAST_CONSUMER });
  }

  #buildOrders(env: TestServiceEnv, consumerName: string) {
    const config = loadConfig(OrdersConfigSchema, {
      ...env,
      REDIS_URL: this.redisUrl,
      REDIS_KEY_PREFIX: this.prefix,
      EVENTS_CONSUMER_NAME: consumerName,
      ...this.options.orders,
    });
    return buildOrdersApp(config, { verificationKeys: this.verificationKeys, consumer: FAST_CONSUMER });
  }

  /** Another catalog instance on the catalog's database (a replica, or the catalog restarted). */
  async startCatalog(consumerName = `catalog-${randomUUID().slice(0, 8)}`): Promise<ServiceInstance> {
    const app = await this.#buildCatalog(this.catalogEnv, consumerName);
    this.#extra.push(app);
    await app.ready();
    return app;
  }

  /** Another orders instance on orders' database. */
  async startOrders(consumerName = `orders-${randomUUID().slice(0, 8)}`): Promise<ServiceInstance> {
    const app = await this.#buildOrders(this.ordersEnv, consumerName);
    this.#extra.push(app);
    await app.ready();
    return app;
  }

  /** Creates a product through the catalog's API, as an admin. */
  async createProduct(stock: number, priceCents = 1_000, catalog = this.catalog): Promise<Product> {
    const response = await catalog.inject({
      method: 'POST',
      url: '/v1/products',
      headers: this.admin,
      payload: { sku: `SAGA-${randomUUID().slice(0, 12)}`, name: `Product ${priceCents}`, priceCents, stock },
    });
    if (response.statusCode !== 201) throw new Error(`create product failed: ${response.statusCode} ${response.body}`);
    return response.json<Product>();
  }

  /** The stock as the catalog's API answers it (through its cache). */
  async stockOf(productId: string, catalog = this.catalog): Promise<number> {
    const response = await catalog.inject({ method: 'GET', url: `/v1/products/${productId}` });
    if (response.statusCode !== 200) throw new Error(`read product failed: ${response.statusCode} ${response.body}`);
    return response.json<Product>().stock;
  }

  /** Places an order through orders' API; `waitSeconds` asks for the settled order (`Prefer: wait`). */
  async placeOrder(items: Items, { waitSeconds, orders = this.orders }: { waitSeconds?: number; orders?: ServiceInstance } = {}): Promise<Order> {
    const response = await orders.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { ...this.customer, ...(waitSeconds !== undefined ? { prefer: `wait=${waitSeconds}` } : {}) },
      payload: { items },
    });
    if (response.statusCode !== 201) throw new Error(`place order failed: ${response.statusCode} ${response.body}`);
    return response.json<Order>();
  }

  async cancelOrder(orderId: string, orders = this.orders): Promise<Order> {
    const response = await orders.inject({ method: 'POST', url: `/v1/orders/${orderId}/cancel`, headers: this.customer });
    if (response.statusCode !== 200) throw new Error(`cancel order failed: ${response.statusCode} ${response.body}`);
    return response.json<Order>();
  }

  async getOrder(orderId: string, orders = this.orders): Promise<Order> {
    const response = await orders.inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: this.customer });
    if (response.statusCode !== 200) throw new Error(`read order failed: ${response.statusCode} ${response.body}`);
    return response.json<Order>();
  }

  /** Polls until the order has left `pending`. */
  async settled(orderId: string, timeoutMs = 15_000): Promise<Order> {
    let order: Order | undefined;
    await waitFor(`order ${orderId} to settle`, async () => (order = await this.getOrder(orderId)).status !== 'pending', timeoutMs);
    return order!;
  }

  /** Every order's status, straight from orders' database. */
  async orderStatuses(): Promise<Map<string, string>> {
    const rows: { id: string; status: string }[] = await this.orders.db.query(`SELECT id, status FROM orders`);
    return new Map(rows.map((row) => [row.id, row.status]));
  }

  /**
   * Units of each product held by confirmed orders, per orders' database: with what the catalog
   * has available, it must add up to the initial stock.
   */
  async unitsHeld(): Promise<Map<string, number>> {
    const rows: { product_id: string; units: number }[] = await this.orders.db.query(
      `SELECT i.product_id, sum(i.quantity)::int AS units FROM order_items i JOIN orders o ON o.id = i.order_id
        WHERE o.status = 'confirmed' GROUP BY i.product_id`,
    );
    return new Map(rows.map((row) => [row.product_id, row.units]));
  }

  /** The stock in the catalog's database (no cache). */
  async storedStock(productId: string): Promise<number> {
    const [row] = await this.catalog.db.query(`SELECT stock FROM products WHERE id = $1`, [productId]);
    return row.stock;
  }
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}


/** A consumer group's progress on a stream: read everything (lag 0) and acknowledged everything. */
export async function groupCaughtUp(redis: Redis, prefix: string, stream: string, group: string): Promise<boolean> {
  // XINFO is one of the commands whose key ioredis does not prefix.
  const groups = (await redis.xinfo('GROUPS', prefix + stream).catch(() => [])) as (string | number)[][];
  const fields = groups.find((entry) => entry[entry.indexOf('name') + 1] === group);
  return fields !== undefined && fields[fields.indexOf('lag') + 1] === 0 && fields[fields.indexOf('pending') + 1] === 0;
}



/** One query on a database through a connection of its own: for looking while no app of it is running. */
export async function queryDatabase<Row>(databaseUrl: string, sql: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as Row[];
  } finally {
    await client.end();
  }
}

/**
 * The gateway in front of orders (listening at `ordersUrl`), verifying the saga's tokens, on the
 * saga's Redis prefix, and closed at teardown.
 */
export async function buildGatewayFor(t: Teardown, saga: Saga, options: { ordersUrl: string; logStream?: Writable }): Promise<ServiceInstance> {
  const config = loadConfig(GatewayConfigSchema, {
    REDIS_URL: saga.redisUrl,
    REDIS_KEY_PREFIX: `${saga.prefix}gateway:`,
    LOG_LEVEL: options.logStream ? 'info' : 'silent',
    ORDERS_URL: options.ordersUrl,
  });
  const gateway = await buildGatewayApp(config, { verificationKeys: saga.verificationKeys, ...(options.logStream ? { logStream: options.logStream } : {}) });
  t.teardown(() => gateway.close());
  return gateway;
}
