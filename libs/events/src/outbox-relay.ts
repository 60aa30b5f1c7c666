import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DataSource, EntityManager, EntitySubscriberInterface } from 'typeorm';
import { OUTBOX_WRITTEN } from './append-event';
import { silentLogger, type EventLogger } from './logger';
import type { EventMetrics } from './metrics';
import { closeConnection, eventStream, openConnection } from './streams';
import { Backoff, Timer } from './timer';

export interface OutboxRelayOptions {
  dataSource: DataSource;
  /** The service's client: the relay opens a connection of its own with the same address and key prefix. */
  redis: Redis;
  /** Unique per outbox, i.e. per producing service (`orders`): it names the relay's marker key in Redis. */
  name: string;
  /** Rows published per Redis round trip. */
  batchSize?: number;
  /** How often an idle relay looks for rows committed by other processes (this process's commits wake it at once). */
  pollIntervalMs?: number;
  /** Retry pace while Redis or the database is down: doubles from `initialBackoffMs` up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** After Redis lost data, events published this recently are published again. */
  replayWindowMs?: number;
  /** How often the relay checks that Redis still holds what it was given. */
  markerCheckIntervalMs?: number;
  /** Stream entries older than this are trimmed (approximately) as new ones arrive; `null` keeps everything. */
  streamRetentionMs?: number | null;
  /** Published rows older than this are deleted from the outbox; at least `replayWindowMs`. */
  retainPublishedMs?: number;
  logger?: EventLogger;
  /** Counts what is published and failed, and has the outbox backlog measured at scrape time. */
  metrics?: EventMetrics;
}

interface OutboxRow {
  position: string;
  event_id: string;
  stream: string;
  type: string;
  source: string;
  payload: unknown;
  occurred_at: Date;
}

const OUTBOX_COLUMNS = 'position, event_id, stream, type, source, payload, occurred_at';

/** One relay publishes at a time per database, so the streams see events in outbox order. */
const RELAY_LOCK = `hashtext('@shop/events:outbox-relay')`;

/** Raises the marker to a position, unless it is missing or mid-replay: only a replay may recreate it. */
const ADVANCE_MARKER = `
local current = redis.call('GET', KEYS[1])
if current and string.match(current, '^%d+$') and tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1`;

/** Ends a replay, unless Redis lost the marker (and so perhaps the replay) while it ran. */
const COMPLETE_REPLAY = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0`;

const PRUNE_EVERY_MS = 60_000;
const PRUNE_BATCH = 1_000;

/**
 * Publishes the outbox to Redis Streams: rows in `position` order, marked published in the
 * transaction that locked them (`FOR UPDATE SKIP LOCKED`), so replicas never publish a row twice
 * over and a relay stopped midway leaves the rest to the next. Redis or database outages are
 * retried with backoff for as long as they last; nothing is lost, at worst published twice, which
 * idempotent consumers absorb.
 *
 * Redis is not the source of truth, the outbox is. Redis may restart empty, be flushed, or come
 * back from an older snapshot, losing events already marked published. To notice, the relay keeps
 * a marker key in Redis holding the highest outbox position it published, raised in the same
 * MULTI as the XADDs (so the two are lost or kept together). Every `markerCheckIntervalMs`, and on
 * every reconnection, it compares the marker with the outbox: a marker that is missing, or behind
 * what the database says was published, means Redis lost data, and every event published within
 * `replayWindowMs` is published again before anything new. The window bounds the replay: an event
 * published longer ago is assumed consumed. The marker is set to a `replaying:<token>` value while
 * the replay runs and only completed if that value survived, so a flush during the replay starts
 * it over. Requires Redis's `maxmemory-policy noeviction` (the default), or streams could be evicted
 * without the marker.
 */
export class OutboxRelay {
  readonly #dataSource: DataSource;
  readonly #template: Redis;
  readonly #markerKey: string;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #replayWindowMs: number;
  readonly #markerCheckIntervalMs: number;
  readonly #streamRetentionMs: number | null;
  readonly #retainPublishedMs: number;
  readonly #logger: EventLogger;
  readonly #backoff: Backoff;
  readonly #idle = new Timer();
  readonly #pause = new Timer();
  readonly #subscriber: EntitySubscriberInterface;
  readonly #name: string;
  readonly #metrics: EventMetrics | undefined;
  #redis: Redis | undefined;
  #running: Promise<void> | undefined;
  #stopping = false;
  #markerCheckedAt = 0;
  #prunedAt = 0;

  constructor(options: OutboxRelayOptions) {
    if (!options.name) throw new Error('OutboxRelay needs a name unique to its outbox (the producing service)');
    this.#dataSource = options.dataSource;
    this.#template = options.redis;
    this.#name = options.name;
    this.#metrics = options.metrics;
    this.#metrics?.watchOutbox(options.name, options.dataSource, { stream: eventStream(options.name), redis: options.redis });
    this.#markerKey = `events:relay:${options.name}:published-up-to`;
    this.#batchSize = options.batchSize ?? 100;
    this.#pollIntervalMs = options.pollIntervalMs ?? 100;
    this.#replayWindowMs = options.replayWindowMs ?? 15 * 60_000;
    this.#markerCheckIntervalMs = options.markerCheckIntervalMs ?? 1_000;
    this.#streamRetentionMs = options.streamRetentionMs === undefined ? 24 * 3_600_000 : options.streamRetentionMs;
    this.#retainPublishedMs = options.retainPublishedMs ?? 7 * 24 * 3_600_000;
    if (this.#retainPublishedMs < this.#replayWindowMs) throw new Error('retainPublishedMs must be at least replayWindowMs, or a replay would miss events');
    this.#logger = options.logger ?? silentLogger;
    this.#backoff = new Backoff(options.initialBackoffMs ?? 100, options.maxBackoffMs ?? 5_000);
    this.#subscriber = {
      // This process's own commits wake the relay at once; other replicas' are found by polling.
      afterTransactionCommit: (event) => {
        if (!event.queryRunner.isTransactionActive && event.queryRunner.data[OUTBOX_WRITTEN]) this.wake();
      },
    };
  }

  start(): void {
    if (this.#running) return;
    this.#stopping = false;
    this.#markerCheckedAt = 0;
    const redis = openConnection(this.#template, { commandTimeout: 2_000 }, this.#logger, 'outbox-relay');
    // A reconnection may be to a Redis that restarted empty: check the marker before publishing more.
    redis.on('ready', () => {
      this.#markerCheckedAt = 0;
      this.wake();
    });
    this.#redis = redis;
    (this.#dataSource.subscribers as EntitySubscriberInterface[]).push(this.#subscriber);
    this.#running = this.#run();
  }

  /** Finishes the batch in flight (published and marked, or rolled back) and closes the relay's connection. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#stopping = true;
    this.#idle.wake();
    this.#pause.wake();
    await this.#running;
    this.#running = undefined;
    const subscribers = this.#dataSource.subscribers as EntitySubscriberInterface[];
    subscribers.splice(subscribers.indexOf(this.#subscriber), 1);
    if (this.#redis) await closeConnection(this.#redis);
    this.#redis = undefined;
  }

  /** Looks at the outbox now rather than at the next poll. */
  wake(): void {
    this.#idle.wake();
  }

  async #run(): Promise<void> {
    this.#logger.info({ relay: this.#markerKey }, 'outbox relay started');
    while (!this.#stopping) {
      let more = false;
      try {
        more = await this.#publishBatch();
        if (this.#backoff.failures > 0) this.#logger.info({ failures: this.#backoff.failures }, 'outbox relay recovered');
        this.#backoff.reset();
        await this.#pruneIfDue();
      } catch (error) {
        if (this.#stopping) break;
        this.#metrics?.relayFailed(this.#name);
        const delay = this.#backoff.next();
        const level = this.#backoff.failures === 1 ? 'warn' : 'debug';
        this.#logger[level]({ err: error, failures: this.#backoff.failures, retryInMs: delay }, 'outbox relay could not publish; retrying');
        await this.#pause.sleep(delay);
        continue;
      }
      if (!more && !this.#stopping) await this.#idle.sleep(this.#pollIntervalMs);
    }
    this.#logger.info({ relay: this.#markerKey }, 'outbox relay stopped');
  }

  /** Publishes one batch; true when there may be more waiting. */
  #publishBatch(): Promise<boolean> {
    return this.#dataSource.transaction(async (manager) => {
      const [lock] = await manager.query(`SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}) AS locked`);
      if (!lock.locked) return false;
      if (Date.now() - this.#markerCheckedAt >= this.#markerCheckIntervalMs) {
        await this.#replayIfRedisLostData(manager);
        this.#markerCheckedAt = Date.now();
      }
      const rows: OutboxRow[] = await manager.query(
        `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE published_at IS NULL ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.#batchSize],
      );
      if (rows.length === 0) return false;
      await this.#publish(rows, true);
      await manager.query(`UPDATE outbox SET published_at = now() WHERE position = ANY($1::bigint[])`, [rows.map((row) => row.position)]);
      this.#metrics?.relayPublished(this.#name, rows.length);
      this.#logger.debug({ count: rows.length, upTo: rows.at(-1)!.position }, 'outbox events published');
      return rows.length === this.#batchSize;
    });
  }

  async #replayIfRedisLostData(manager: EntityManager): Promise<void> {
    const redis = this.#redis!;
    const marker = await redis.get(this.#markerKey);
    const [{ max }] = await manager.query(`SELECT max(position)::text AS max FROM outbox WHERE published_at IS NOT NULL`);
    const publishedUpTo = BigInt(max ?? 0);
    if (marker !== null && /^\d+$/.test(marker) && BigInt(marker) >= publishedUpTo) return;
    // Nothing published yet (a new service, or Redis met before the first event) is no loss worth a warning.
    this.#logger[publishedUpTo === 0n ? 'info' : 'warn'](
      { marker, publishedUpTo: publishedUpTo.toString(), replayWindowMs: this.#replayWindowMs },
      'redis does not hold everything the outbox published (restarted empty, flushed or restored): replaying recent events',
    );
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const token = `replaying:${randomUUID()}`;
      await redis.set(this.#markerKey, token);
      const replayed = await this.#replay(manager);
      const completed = await redis.eval(COMPLETE_REPLAY, 1, this.#markerKey, token, publishedUpTo.toString());
      if (completed === 1) {
        this.#logger.info({ replayed }, 'outbox replay done');
        return;
      }
    }
    throw new Error('redis lost its data again while the outbox was being replayed');
  }

  async #replay(manager: EntityManager): Promise<number> {
    let after = '0';
    let replayed = 0;
    for (;;) {
      const rows: OutboxRow[] = await manager.query(
        `SELECT ${OUTBOX_COLUMNS} FROM outbox
          WHERE published_at IS NOT NULL AND published_at >= now() - $1 * interval '1 millisecond' AND position > $2
          ORDER BY position LIMIT $3`,
        [this.#replayWindowMs, after, this.#batchSize],
      );
      if (rows.length === 0) return replayed;
      await this.#publish(rows, false);
      this.#metrics?.relayReplayed(this.#name, rows.length);
      replayed += rows.length;
      after = rows.at(-1)!.position;
    }
  }

  /** XADDs the rows (and raises the marker) in one MULTI: Redis keeps all of it or, when it loses data, none. */
  async #publish(rows: OutboxRow[], advanceMarker: boolean): Promise<void> {
    const transaction = this.#redis!.multi();
    const trim = this.#streamRetentionMs === null ? [] : ['MINID', '~', String(Date.now() - this.#streamRetentionMs)];
    for (const row of rows) {
      const envelope = {
        id: row.event_id,
        type: row.type,
        source: row.source,
        occurredAt: row.occurred_at.toISOString(),
        payload: row.payload,
      };
      transaction.call('XADD', row.stream, ...trim, '*', 'id', row.event_id, 'type', row.type, 'event', JSON.stringify(envelope));
    }
    if (advanceMarker) transaction.eval(ADVANCE_MARKER, 1, this.#markerKey, rows.at(-1)!.position);
    const results = await transaction.exec();
    if (!results) throw new Error('redis discarded the publishing transaction');
    for (const [error] of results) if (error) throw error;
  }

  async #pruneIfDue(): Promise<void> {
    if (Date.now() - this.#prunedAt < PRUNE_EVERY_MS) return;
    this.#prunedAt = Date.now();
    const [, deleted] = await this.#dataSource.query(
      `DELETE FROM outbox WHERE position IN (
         SELECT position FROM outbox WHERE published_at < now() - $1 * interval '1 millisecond' ORDER BY position LIMIT $2)`,
      [this.#retainPublishedMs, PRUNE_BATCH],
    );
    if (deleted > 0) this.#logger.debug({ deleted }, 'published outbox rows pruned');
  }
}
