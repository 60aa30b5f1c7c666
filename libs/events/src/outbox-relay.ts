import type { Redis } from 'ioredis';
import type { DataSource, EntityManager, EntitySubscriberInterface } from 'typeorm';
import { OUTBOX_WRITTEN } from './append-event';
import { tracePublication, type TraceCarrier } from './event-tracing';
import { silentLogger, type EventLogger } from './logger';
import type { EventMetrics } from './metrics';
import { closeConnection, eventStream, keyPrefixOf, openConnection, replayStream } from './streams';
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
  /**
   * After Redis lost data, events published this recently that the consumers had not acknowledged
   * (as last checkpointed) are published again; the window caps the replay when no checkpoint is known.
   */
  replayWindowMs?: number;
  /** How often the relay checks that Redis still holds what it was given, and checkpoints what consumers acknowledged. */
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
  trace_context: TraceCarrier | null;
}

const OUTBOX_COLUMNS = 'position, event_id, stream, type, source, payload, occurred_at, trace_context';

interface ReplayCursor {
  /** The marker's value, which the next batch moves on by compare-and-set. */
  marker: string;
  upTo: bigint;
  after: bigint;
}

/** One relay publishes at a time per database, so the streams see events in outbox order. */
const RELAY_LOCK = `hashtext('@shop/events:outbox-relay')`;

/** Raises the marker to a position, unless it is missing or mid-replay: only a replay may recreate it. */
const ADVANCE_MARKER = `
local current = redis.call('GET', KEYS[1])
if current and string.match(current, '^%d+$') and tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1`;

/** Moves the marker on (a replay's progress, or its end) only if it still holds what this relay last saw. */
const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0`;

/** The marker while a replay runs: `replaying:<last position to replay>:<replayed up to>`. */
const REPLAYING = /^replaying:(\d+):(\d+)$/;

/** Entries scanned per consumer group to find what it has not acknowledged; a group further behind is not checkpointed. */
const CHECKPOINT_SCAN_LIMIT = 1_000;

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
 * what the database says was published, means Redis lost data.
 *
 * What was lost is what the consumers had not yet acknowledged, not everything published. So at
 * each check while Redis is whole, the relay also reads each stream's consumer groups (every entry
 * carries its outbox `position`) and stores in `outbox_consumed`, in its own database, the highest
 * position below which every group has acknowledged everything. After a loss it replays only the
 * published rows above that checkpoint (and within `replayWindowMs`, the cap when no checkpoint is
 * known): the unconsumed events plus at most one check interval's worth of consumed ones, which the
 * consumers' `processed_events` skip.
 *
 * The replay never holds up new events. It goes to the stream's replay stream
 * (`events:orders:replay`), which consumers read in the same XREADGROUP as the live one, so a
 * consumer takes new and replayed events side by side instead of new ones after thousands of old
 * ones; and each relay round publishes the new rows first, then one bounded batch of the replay.
 * (Events of one order may then arrive out of order across the loss; the saga's handlers accept
 * that, as they accept a cancel overtaking its placement.) The replay's progress
 * lives in the marker itself (`replaying:<up to>:<done up to>`, moved by compare-and-set with each
 * batch), so any replica holding the relay lock carries it on, and a second loss mid-replay wipes
 * it and starts a new one. Checkpoints are taken only while the marker is whole, and confirmed by
 * reading it again, so a Redis that restarted unnoticed can never advance them. Requires Redis's
 * `maxmemory-policy noeviction` (the default), or streams could be evicted without the marker.
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
  /** Streams this relay publishes to: those it checkpoints. */
  readonly #streams = new Set<string>();
  #checkpointedStreamsLoaded = false;
  /** A replay is under way (this relay's or another replica's): read the marker every round, not only at checks. */
  #replaying = false;
  #replayedByThisRelay = 0;

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

  /** One round: new rows first, then one batch of a replay if one is under way; true when there may be more to do. */
  #publishBatch(): Promise<boolean> {
    return this.#dataSource.transaction(async (manager) => {
      const [lock] = await manager.query(`SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}) AS locked`);
      if (!lock.locked) return false;
      let replay: ReplayCursor | undefined;
      const checkDue = Date.now() - this.#markerCheckedAt >= this.#markerCheckIntervalMs;
      if (checkDue || this.#replaying) {
        replay = await this.#checkMarker(manager, checkDue);
        if (checkDue) this.#markerCheckedAt = Date.now();
        this.#replaying = replay !== undefined;
      }
      // Marked published and read in one statement: the mark commits only with the publication
      // below, as the transaction rolls back if Redis does not take the batch.
      const [marked]: [OutboxRow[], number] = await manager.query(
        `UPDATE outbox SET published_at = now() WHERE position IN (
           SELECT position FROM outbox WHERE published_at IS NULL ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING ${OUTBOX_COLUMNS}`,
        [this.#batchSize],
      );
      const rows = marked.sort(byPosition);
      if (rows.length > 0) {
        await this.#publish(rows, ['EVAL', ADVANCE_MARKER, 1, this.#markerKey, rows.at(-1)!.position]);
        this.#metrics?.relayPublished(this.#name, rows.length);
        this.#logger.debug({ count: rows.length, upTo: rows.at(-1)!.position }, 'outbox events published');
      }
      const replayGoesOn = replay ? await this.#replayBatch(manager, replay) : false;
      return rows.length === this.#batchSize || replayGoesOn;
    });
  }

  /**
   * Reads the marker: a replay under way is returned to carry on; a marker that lost data starts
   * one; a whole marker, at a check, checkpoints what the consumers acknowledged.
   */
  async #checkMarker(manager: EntityManager, checkDue: boolean): Promise<ReplayCursor | undefined> {
    const redis = this.#redis!;
    const marker = await redis.get(this.#markerKey);
    const replaying = marker === null ? null : REPLAYING.exec(marker);
    if (replaying) return { marker: marker!, upTo: BigInt(replaying[1]!), after: BigInt(replaying[2]!) };
    const publishedUpTo = await maxPublishedPosition(manager);
    if (marker !== null && /^\d+$/.test(marker) && BigInt(marker) >= publishedUpTo) {
      if (checkDue) await this.#checkpointConsumed(manager, BigInt(marker));
      return undefined;
    }
    const [{ lost }] = await manager.query(
      `SELECT count(*)::int AS lost FROM outbox o LEFT JOIN outbox_consumed c ON c.stream = o.stream
        WHERE o.published_at IS NOT NULL AND o.position <= $1 AND o.position > coalesce(c.position, 0)
          AND o.published_at >= now() - $2 * interval '1 millisecond'`,
      [publishedUpTo.toString(), this.#replayWindowMs],
    );
    if (lost === 0) {
      // Nothing published yet (a new service, or Redis met before the first event), or all of it acknowledged: no loss.
      this.#logger.info({ marker, publishedUpTo: publishedUpTo.toString() }, 'redis marker set; nothing unacknowledged to replay');
      await redis.set(this.#markerKey, publishedUpTo.toString());
      return undefined;
    }
    this.#logger.warn(
      { marker, publishedUpTo: publishedUpTo.toString(), toReplay: lost, replayWindowMs: this.#replayWindowMs },
      'redis does not hold everything the outbox published (restarted empty, flushed or restored): replaying what the consumers had not acknowledged',
    );
    const cursor = { marker: `replaying:${publishedUpTo}:0`, upTo: publishedUpTo, after: 0n };
    await redis.set(this.#markerKey, cursor.marker);
    this.#replayedByThisRelay = 0;
    return cursor;
  }

  /** Publishes the next batch of a replay, or ends it; true while there is more. */
  async #replayBatch(manager: EntityManager, replay: ReplayCursor): Promise<boolean> {
    const rows: OutboxRow[] = await manager.query(
      `SELECT ${OUTBOX_COLUMNS.split(', ').map((column) => `o.${column}`).join(', ')}
         FROM outbox o LEFT JOIN outbox_consumed c ON c.stream = o.stream
        WHERE o.published_at IS NOT NULL AND o.position > $1 AND o.position <= $2 AND o.position > coalesce(c.position, 0)
          AND o.published_at >= now() - $3 * interval '1 millisecond'
        ORDER BY o.position LIMIT $4`,
      [replay.after.toString(), replay.upTo.toString(), this.#replayWindowMs, this.#batchSize],
    );
    if (rows.length === 0) {
      // This round's new rows are published in this transaction too: the marker may cover them.
      const publishedUpTo = await maxPublishedPosition(manager);
      const completed = await this.#redis!.eval(COMPARE_AND_SET, 1, this.#markerKey, replay.marker, publishedUpTo.toString());
      this.#replaying = false;
      if (completed === 1) this.#logger.info({ replayed: this.#replayedByThisRelay }, 'outbox replay done');
      return false;
    }
    const next = `replaying:${replay.upTo}:${rows.at(-1)!.position}`;
    const [moved] = await this.#publish(rows, ['EVAL', COMPARE_AND_SET, 1, this.#markerKey, replay.marker, next], true);
    this.#replayedByThisRelay += rows.length;
    this.#metrics?.relayReplayed(this.#name, rows.length);
    this.#logger.debug({ count: rows.length, upTo: rows.at(-1)!.position, moved }, 'outbox events replayed');
    // Not moved: Redis lost data again (a new replay starts at the next round) or another replica moved it.
    return true;
  }

  /**
   * Stores, per stream, the highest outbox position below which every consumer group has
   * acknowledged everything, as Redis says now; `markerAtCheck` is what the marker held, so all
   * rows up to it are on the streams. Confirmed by reading the marker again: had Redis restarted
   * in between, the groups seen might be new ones that know nothing of what was lost.
   */
  async #checkpointConsumed(manager: EntityManager, markerAtCheck: bigint): Promise<void> {
    if (!this.#checkpointedStreamsLoaded) {
      const known: { stream: string }[] = await manager.query(`SELECT stream FROM outbox_consumed`);
      for (const { stream } of known) this.#streams.add(stream);
      this.#checkpointedStreamsLoaded = true;
    }
    const checkpoints: [stream: string, position: bigint][] = [];
    for (const stream of this.#streams) {
      const live = await this.#acknowledgedThrough(stream, markerAtCheck);
      const replayed = await this.#acknowledgedThrough(replayStream(stream), markerAtCheck, true);
      if (live !== undefined && replayed !== undefined) checkpoints.push([stream, live < replayed ? live : replayed]);
    }
    if (checkpoints.length === 0) return;
    const marker = await this.#redis!.get(this.#markerKey);
    if (marker === null || !/^\d+$/.test(marker) || BigInt(marker) < markerAtCheck) return;
    await manager.query(
      `INSERT INTO outbox_consumed (stream, position) SELECT * FROM unnest($1::text[], $2::bigint[])
       ON CONFLICT (stream) DO UPDATE SET position = excluded.position, recorded_at = now()`,
      [checkpoints.map(([stream]) => stream), checkpoints.map(([, position]) => position.toString())],
    );
  }

  /**
   * Undefined when it cannot be told cheaply: no group, entries without a position, a group far
   * behind. A replay stream that does not exist (nothing was ever replayed) holds nothing unacknowledged.
   */
  async #acknowledgedThrough(stream: string, markerAtCheck: bigint, optional = false): Promise<bigint | undefined> {
    const redis = this.#redis!;
    let groups: unknown[][];
    try {
      // XINFO's key is not prefixed by ioredis (it follows a subcommand).
      groups = (await redis.call('XINFO', 'GROUPS', keyPrefixOf(redis) + stream)) as unknown[][];
    } catch (error) {
      if (error instanceof Error && /no such key/i.test(error.message)) return optional ? markerAtCheck : undefined;
      throw error;
    }
    if (groups.length === 0) return optional ? markerAtCheck : undefined;
    let through = markerAtCheck;
    for (const group of groups) {
      const info = fieldsOf(group);
      const name = String(info.name);
      // Redis 7 counts what the group has yet to read: a group that far behind is not worth a scan.
      if (typeof info.lag === 'number' && info.lag + Number(info.pending) >= CHECKPOINT_SCAN_LIMIT) return undefined;
      let start = `(${String(info['last-delivered-id'])}`;
      if (Number(info.pending) > 0) {
        const [, oldestPending] = (await redis.xpending(stream, name)) as [number, string | null];
        if (oldestPending) start = oldestPending;
      }
      // Every entry not acknowledged counts, wherever it is: a replay stream is in position order only per replay.
      const entries = await redis.xrange(stream, start, '+', 'COUNT', CHECKPOINT_SCAN_LIMIT);
      if (entries.length === CHECKPOINT_SCAN_LIMIT) return undefined;
      for (const [, fields] of entries) {
        const position = fields[fields.indexOf('position') + 1];
        if (!fields.includes('position') || !position || !/^\d+$/.test(position)) return undefined;
        if (BigInt(position) - 1n < through) through = BigInt(position) - 1n;
      }
    }
    return through;
  }

  /** XADDs the rows, each with its outbox position, and moves the marker, in one MULTI: Redis keeps all of it or, when it loses data, none. */
  async #publish(rows: OutboxRow[], markerCommand: (string | number)[], replay = false): Promise<unknown[]> {
    const transaction = this.#redis!.multi();
    const trim = this.#streamRetentionMs === null ? [] : ['MINID', '~', String(Date.now() - this.#streamRetentionMs)];
    const tracing = tracePublication(rows);
    for (const [index, row] of rows.entries()) {
      const envelope = {
        id: row.event_id,
        type: row.type,
        source: row.source,
        occurredAt: row.occurred_at.toISOString(),
        payload: row.payload,
      };
      this.#streams.add(row.stream);
      transaction.call(
        'XADD', replay ? replayStream(row.stream) : row.stream, ...trim, '*',
        'id', row.event_id, 'type', row.type, 'position', row.position, 'event', JSON.stringify(envelope), ...tracing.entryFields(index),
      );
    }
    transaction.call(...(markerCommand as [string, ...(string | number)[]]));
    try {
      const results = await transaction.exec();
      if (!results) throw new Error('redis discarded the publishing transaction');
      for (const [error] of results) if (error) throw error;
      tracing.end();
      return [results.at(-1)![1]];
    } catch (error) {
      tracing.end(error);
      throw error;
    }
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

/** Positions are bigints, which pg hands over as strings: the shorter one is the smaller. */
function byPosition(a: OutboxRow, b: OutboxRow): number {
  return a.position.length - b.position.length || (a.position < b.position ? -1 : a.position > b.position ? 1 : 0);
}

async function maxPublishedPosition(manager: EntityManager): Promise<bigint> {
  const [{ max }] = await manager.query(`SELECT max(position)::text AS max FROM outbox WHERE published_at IS NOT NULL`);
  return BigInt(max ?? 0);
}

/** XINFO answers flat `[name, value, name, value, ...]` lists. */
function fieldsOf(flat: unknown[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (let index = 0; index + 1 < flat.length; index += 2) fields[String(flat[index])] = flat[index + 1];
  return fields;
}
