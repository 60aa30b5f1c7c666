import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@shop/contracts';
import { createDataSource, runMigrations, withTransaction } from '@shop/db';
import { createTestDatabase, createTestRedisPrefix, startPrivateRedis, TEST_REDIS_URL, waitFor, type Teardown } from '@shop/testing';

// Shared with every suite that needs them; re-exported so the tests keep importing from here.
export { startPrivateRedis, waitFor };
import { Redis } from 'ioredis';
import pg from 'pg';
import type { DataSource, EntityManager, MigrationInterface, QueryRunner } from 'typeorm';
import {
  addOutboxTraceContextMigration,
  appendEvent,
  createDeadLettersMigration,
  createOutboxConsumedMigration,
  createOutboxMigration,
  createProcessedEventsMigration,
  OutboxRelay,
  StreamConsumer,
  type EventHandlers,
  type EventLogger,
  type OutboxRelayOptions,
  type StreamConsumerOptions,
} from '../src/index';

/** What consumers under test do: one row per application of an event, so a duplicate shows. */
class CreateEffects1700000000002 implements MigrationInterface {
  name = 'CreateEffects1700000000002';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE effects (event_id uuid NOT NULL, consumer text NOT NULL, type text NOT NULL, applied_at timestamptz(3) NOT NULL DEFAULT now())`);
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE effects`);
  }
}

export const schema = {
  entities: [],
  migrations: [
    createOutboxMigration(1700000000000),
    createProcessedEventsMigration(1700000000001),
    CreateEffects1700000000002,
    createOutboxConsumedMigration(1700000000003),
    addOutboxTraceContextMigration(1700000000004),
    createDeadLettersMigration(1700000000005),
  ],
};

export interface LogLine {
  level: string;
  message: string | undefined;
  object: object;
}

/** Collects log lines for assertions; TEST_LOG_LEVEL=debug also prints them. */
export function createTestLogger(): EventLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const print = process.env.TEST_LOG_LEVEL === 'debug';
  const at =
    (level: string) =>
    (object: object, message?: string): void => {
      lines.push({ level, message, object });
      if (print) process.stderr.write(`${level} ${message} ${JSON.stringify(object, (_key, value) => (value instanceof Error ? value.message : value))}\n`);
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Short intervals, so recoveries happen within a test's patience. */
export const FAST_RELAY = { pollIntervalMs: 50, markerCheckIntervalMs: 100, initialBackoffMs: 50, maxBackoffMs: 300 } satisfies Partial<OutboxRelayOptions>;
export const FAST_CONSUMER = {
  claimIdleMs: 300,
  claimIntervalMs: 100,
  blockMs: 100,
  initialBackoffMs: 50,
  maxBackoffMs: 300,
} satisfies Partial<StreamConsumerOptions>;

export interface Harness {
  dataSource: DataSource;
  redis: Redis;
  databaseUrl: string;
  prefix: string;
  /** The stream events go to in these tests: `events:orders` under the test's key prefix. */
  stream: string;
  logger: ReturnType<typeof createTestLogger>;
  relay(options?: Partial<OutboxRelayOptions>): OutboxRelay;
  consumer(options?: Partial<StreamConsumerOptions> & { handlers?: EventHandlers }): StreamConsumer;
  /** Starts something that is stopped when the test ends, before the database is dropped. */
  track<T extends { stop(): Promise<void> }>(component: T): T;
}

/**
 * A database of the test's own (migrated with the outbox, processed_events and an effects table)
 * and a Redis key prefix of its own; everything is stopped, closed and dropped at teardown.
 */
export async function createHarness(t: Teardown, label: string, options: { redisUrl?: string } = {}): Promise<Harness> {
  const database = await createTestDatabase(label);
  const { prefix, clear } = createTestRedisPrefix(label);
  const components: { stop(): Promise<void> }[] = [];
  const state: { dataSource?: DataSource; redis?: Redis } = {};
  t.teardown(async () => {
    await Promise.all(components.map((component) => component.stop()));
    state.redis?.disconnect();
    await state.dataSource?.destroy();
    await backendsGone(database.url);
    await database.drop();
    if (!options.redisUrl) await clear();
  });
  await runMigrations({ ...schema, url: database.url });
  const dataSource = createDataSource({ ...schema, url: database.url, poolSize: 10 });
  await dataSource.initialize();
  state.dataSource = dataSource;
  const redis = new Redis(options.redisUrl ?? TEST_REDIS_URL, { keyPrefix: prefix, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  redis.on('error', () => {});
  state.redis = redis;
  const logger = createTestLogger();
  const track = <T extends { stop(): Promise<void> }>(component: T): T => {
    components.push(component);
    return component;
  };
  return {
    dataSource,
    redis,
    databaseUrl: database.url,
    prefix,
    stream: 'events:orders',
    logger,
    track,
    relay: (overrides = {}) => track(new OutboxRelay({ dataSource, redis, name: 'orders', logger, ...FAST_RELAY, ...overrides })),
    consumer: ({ handlers, ...overrides } = {}) =>
      track(
        new StreamConsumer({
          redis,
          dataSource,
          group: 'catalog',
          streams: ['events:orders'],
          handlers: handlers ?? { 'order.placed.v1': recordEffect('catalog'), 'order.cancelled.v1': recordEffect('catalog') },
          logger,
          ...FAST_CONSUMER,
          ...overrides,
        }),
      ),
  };
}

/**
 * pg's pool resolves `end()` before its sockets are closed: dropping the database at once would
 * terminate sessions the pool still listens to, and it would log that as an error.
 */
async function backendsGone(databaseUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const adminUrl = new URL(databaseUrl);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    await waitFor('the pool to disconnect', async () => (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1`, [name])).rowCount === 0, 2_000).catch(() => {});
  } finally {
    await admin.end();
  }
}

/** A handler that records one effect row per application. */
export function recordEffect(consumer: string) {
  return async (event: EventEnvelope, manager: EntityManager): Promise<void> => {
    await manager.query(`INSERT INTO effects (event_id, consumer, type) VALUES ($1, $2, $3)`, [event.id, consumer, event.type]);
  };
}

/** Appends `count` order.placed.v1 events, each in a transaction of its own; returns their ids in order. */
export async function placeOrders(dataSource: DataSource, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const event = await withTransaction(dataSource, (manager) =>
      appendEvent(manager, {
        type: 'order.placed.v1',
        source: 'orders',
        payload: { orderId: randomUUID(), userId: randomUUID(), items: [{ productId: randomUUID(), quantity: index + 1 }] },
      }),
    );
    ids.push(event.id);
  }
  return ids;
}

/** Event ids with how many times each was applied. */
export async function effectCounts(dataSource: DataSource, consumer = 'catalog'): Promise<Map<string, number>> {
  const rows: { event_id: string; count: number }[] = await dataSource.query(
    `SELECT event_id, count(*)::int AS count FROM effects WHERE consumer = $1 GROUP BY event_id`,
    [consumer],
  );
  return new Map(rows.map((row) => [row.event_id, row.count]));
}

export async function unpublishedCount(dataSource: DataSource): Promise<number> {
  const [row] = await dataSource.query(`SELECT count(*)::int AS count FROM outbox WHERE published_at IS NULL`);
  return row.count;
}

/** The event ids on a stream, in stream order. */
export async function streamEventIds(redis: Redis, stream: string): Promise<string[]> {
  const entries = await redis.xrange(stream, '-', '+');
  return entries.map(([, fields]) => fields[fields.indexOf('id') + 1]!);
}


export async function allAppliedOnce(dataSource: DataSource, ids: string[], consumer = 'catalog'): Promise<boolean> {
  const counts = await effectCounts(dataSource, consumer);
  return ids.every((id) => counts.get(id) === 1);
}


