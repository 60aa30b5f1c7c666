import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { EventEnvelope, EventType } from '@shop/contracts';
import { isEventType } from '@shop/contracts';
import { isPgError, PgErrorCodes, withTransaction, type IsolationLevel } from '@shop/db';
import type { Redis } from 'ioredis';
import type { DataSource, EntityManager } from 'typeorm';
import { applyOnce } from './apply-once';
import { recordDeadLetter } from './dead-letters';
import { inProcessSpan, recordFailure, traceCarrierOfEntry, type TraceCarrier } from './event-tracing';
import { silentLogger, type EventLogger } from './logger';
import type { EventMetrics } from './metrics';
import { closeConnection, isBusyGroupError, isNoGroupError, keyPrefixOf, openConnection, replayStream } from './streams';
import { Backoff, Timer } from './timer';
import { checkEvent } from './validation';

/** Where an event came from, for logs and for handlers that care how often it was tried. */
export interface Delivery {
  stream: string;
  entryId: string;
  /** 1 on the first delivery; more after failures, crashes and reclaims. */
  deliveries: number;
}

/**
 * Applies one event. `manager` is the transaction that also records the event as processed, so
 * the effect and the deduplication commit together; `appendEvent(manager, ...)` emits follow-up
 * events in it too. Throwing rolls everything back and the event is tried again later.
 */
export type EventHandler<T extends EventType> = (event: EventEnvelope<T>, manager: EntityManager, delivery: Delivery) => Promise<void>;
export type EventHandlers = { [T in EventType]?: EventHandler<T> };

export interface StreamConsumerOptions {
  /** The service's client: the consumer opens connections of its own with the same address and key prefix. */
  redis: Redis;
  dataSource: DataSource;
  /** The consuming service (`catalog`): its consumer group, and its name in `processed_events`. */
  group: string;
  /** This instance within the group. Keep it stable across restarts (a pod or host name) to re-read its own pending entries. */
  consumerName?: string;
  /** The streams to read, e.g. `['events:orders']` (and, without saying, their replay streams). */
  streams: string[];
  /** One per event type the service reacts to; other types on the streams are acknowledged and skipped. */
  handlers: EventHandlers;
  /** Failed deliveries after which an event goes to the dead letter instead. */
  maxDeliveries?: number;
  /** An entry pending this long (its consumer crashed, or its handler failed) is claimed and tried again. */
  claimIdleMs?: number;
  /** How often to look for such entries. */
  claimIntervalMs?: number;
  /** Entries read per stream per round trip; those read together are applied in one transaction. */
  batchSize?: number;
  /** How long one read waits for new entries; also the longest `stop()` waits for a read to end. */
  blockMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * How long `processed_events` rows are kept. A duplicate can arrive while its entry may still be
   * on a stream (the relay's stream retention) or be replayed (its replay window): keep it longer.
   */
  processedRetentionMs?: number;
  isolation?: IsolationLevel;
  logger?: EventLogger;
  /** Counts applied, deduplicated, redelivered and dead-lettered events; lag and pending are measured at scrape time. */
  metrics?: EventMetrics;
}

type StreamEntry = [id: string, fields: string[] | null];
type ReadReply = [stream: string, entries: StreamEntry[]][] | null;
type ClaimReply = [next: string, entries: StreamEntry[], deleted?: string[]];

/** An entry that holds a valid event this group handles: what a transaction applies. */
interface Candidate {
  delivery: Delivery;
  event: EventEnvelope;
  raw: string;
  carrier: TraceCarrier | null;
}

/** Two transactions that collided: trying again at once almost always works. */
function isConflict(error: unknown): boolean {
  return isPgError(error, PgErrorCodes.SERIALIZATION_FAILURE) || isPgError(error, PgErrorCodes.DEADLOCK_DETECTED);
}

/** The database, not the event, is at fault: wait for it rather than count a failed delivery. */
class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super('database unavailable', { cause });
  }
}

const CONFLICT_RETRIES = 3;
const PRUNE_EVERY_MS = 10 * 60_000;
const PRUNE_BATCH = 1_000;
let instances = 0;

/**
 * Consumes Redis Streams as one consumer of a group, at least once, and applies each event at
 * most once through `processed_events`, so effectively once.
 *
 * - Reads new entries with XREADGROUP; acknowledges an entry only after its transaction committed.
 * - On start, and after any failure, first re-reads its own pending entries (from id 0).
 * - Claims entries idle for `claimIdleMs` (XAUTOCLAIM): a crashed consumer's, or its own failures.
 * - After `maxDeliveries` failed deliveries, or at once for an event that breaks its contract or
 *   has a type unknown to the contracts, records the entry in the service's `dead_letters` table
 *   (where it survives whatever happens to Redis, for an operator to re-drive or discard), then
 *   acknowledges it and goes on.
 *   A handler failure while the database is unreachable does not count: the consumer waits for
 *   the database instead, so an outage never dead-letters good events.
 * - A missing group (Redis restarted empty or flushed: NOGROUP) is recreated from the start of
 *   the stream, so events the relay replays into it are read; duplicates are skipped.
 * - Redis or database down: backs off and retries until they are back, never busy-loops.
 */
export class StreamConsumer {
  readonly #template: Redis;
  readonly #dataSource: DataSource;
  readonly #group: string;
  readonly #consumerName: string;
  readonly #streams: string[];
  readonly #handlers: EventHandlers;
  readonly #maxDeliveries: number;
  readonly #claimIdleMs: number;
  readonly #claimIntervalMs: number;
  readonly #batchSize: number;
  readonly #blockMs: number;
  readonly #processedRetentionMs: number;
  readonly #isolation: IsolationLevel;
  readonly #logger: EventLogger;
  readonly #backoff: Backoff;
  readonly #pause = new Timer();
  readonly #metrics: EventMetrics | undefined;
  #commands: Redis | undefined;
  #reader: Redis | undefined;
  #prefix = '';
  #running: Promise<void> | undefined;
  #stopping = false;
  #groupsReady = false;
  #ownPendingToReread = true;
  #nextClaimAt = 0;
  #prunedAt = 0;

  constructor(options: StreamConsumerOptions) {
    if (!options.group) throw new Error('StreamConsumer needs a group (the consuming service)');
    if (options.streams.length === 0) throw new Error('StreamConsumer needs at least one stream');
    for (const type of Object.keys(options.handlers)) {
      if (!isEventType(type)) throw new Error(`StreamConsumer has a handler for ${type}, which is no event type in the contracts`);
    }
    instances += 1;
    this.#template = options.redis;
    this.#dataSource = options.dataSource;
    this.#group = options.group;
    this.#consumerName = options.consumerName ?? `${hostname()}-${process.pid}-${instances}`;
    // Each stream's replay stream too: what a relay republishes after Redis lost data arrives there.
    this.#streams = [...new Set(options.streams.flatMap((stream) => [stream, replayStream(stream)]))];
    this.#handlers = options.handlers;
    this.#maxDeliveries = options.maxDeliveries ?? 5;
    this.#claimIdleMs = options.claimIdleMs ?? 15_000;
    this.#claimIntervalMs = options.claimIntervalMs ?? Math.min(this.#claimIdleMs, 5_000);
    this.#batchSize = options.batchSize ?? 100;
    this.#blockMs = options.blockMs ?? 1_000;
    this.#processedRetentionMs = options.processedRetentionMs ?? 7 * 24 * 3_600_000;
    this.#isolation = options.isolation ?? 'READ COMMITTED';
    this.#logger = options.logger ?? silentLogger;
    this.#backoff = new Backoff(options.initialBackoffMs ?? 100, options.maxBackoffMs ?? 5_000);
    this.#metrics = options.metrics;
    this.#metrics?.watchConsumerGroup({ group: this.#group, streams: this.#streams, dataSource: this.#dataSource, redis: options.redis });
  }

  get consumerName(): string {
    return this.#consumerName;
  }

  /** Starts consuming in the background; Redis need not be up yet. */
  start(): void {
    if (this.#running) return;
    this.#stopping = false;
    this.#groupsReady = false;
    this.#ownPendingToReread = true;
    this.#nextClaimAt = 0;
    this.#prefix = keyPrefixOf(this.#template);
    const label = `consumer ${this.#group}/${this.#consumerName}`;
    this.#commands = openConnection(this.#template, { commandTimeout: 2_000 }, this.#logger, label);
    // Blocking reads get a connection of their own, with room for the block in its timeout.
    this.#reader = openConnection(this.#template, { commandTimeout: this.#blockMs + 2_000 }, this.#logger, `${label} (reads)`);
    this.#running = this.#run();
  }

  /**
   * Lets the event in hand finish (committed and acknowledged, or rolled back and left pending),
   * then closes. Entries read but not yet handled stay pending: this consumer re-reads them when
   * it starts again under the same name, or another claims them after `claimIdleMs`.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#stopping = true;
    this.#pause.wake();
    await this.#running;
    this.#running = undefined;
    await this.#leaveGroupIfIdle();
    await Promise.all([this.#commands, this.#reader].map((connection) => connection && closeConnection(connection)));
    this.#commands = undefined;
    this.#reader = undefined;
  }

  async #run(): Promise<void> {
    this.#logger.info({ group: this.#group, consumer: this.#consumerName, streams: this.#streams }, 'stream consumer started');
    while (!this.#stopping) {
      try {
        if (!this.#groupsReady) await this.#createGroups();
        if (this.#ownPendingToReread) {
          await this.#rereadOwnPending();
          this.#ownPendingToReread = false;
        }
        if (Date.now() >= this.#nextClaimAt) {
          await this.#claimIdle();
          this.#nextClaimAt = Date.now() + this.#claimIntervalMs;
        }
        await this.#readNew();
        await this.#pruneIfDue();
        if (this.#backoff.failures > 0) this.#logger.info({ failures: this.#backoff.failures }, 'stream consumer recovered');
        this.#backoff.reset();
      } catch (error) {
        if (this.#stopping) break;
        // Whatever was in hand may be pending unacknowledged: look at it first once things work again.
        this.#ownPendingToReread = true;
        if (isNoGroupError(error) && this.#groupsReady) {
          this.#logger.warn({ err: error, group: this.#group }, 'consumer group missing (Redis restarted empty or was flushed); recreating it');
          this.#groupsReady = false;
          continue;
        }
        const wait = this.#backoff.next();
        const level = this.#backoff.failures === 1 ? 'warn' : 'debug';
        const what = error instanceof DatabaseUnavailableError ? 'database unavailable' : 'stream consumer failed';
        this.#logger[level]({ err: error instanceof DatabaseUnavailableError ? error.cause : error, failures: this.#backoff.failures, retryInMs: wait }, `${what}; retrying`);
        await this.#pause.sleep(wait);
      }
    }
    this.#logger.info({ group: this.#group, consumer: this.#consumerName }, 'stream consumer stopped');
  }

  /** From id 0, so a group recreated after Redis lost its data still reads what the relay replays. */
  async #createGroups(): Promise<void> {
    for (const stream of this.#streams) {
      try {
        await this.#commands!.xgroup('CREATE', this.#prefix + stream, this.#group, '0', 'MKSTREAM');
        this.#logger.info({ stream, group: this.#group }, 'consumer group created');
      } catch (error) {
        if (!isBusyGroupError(error)) throw error;
      }
    }
    this.#groupsReady = true;
  }

  /** Entries delivered to this consumer earlier and never acknowledged (it crashed, or stopped mid-batch). */
  async #rereadOwnPending(): Promise<void> {
    for (const stream of this.#streams) {
      let after = '0';
      while (!this.#stopping) {
        const reply = (await this.#commands!.call('XREADGROUP', 'GROUP', this.#group, this.#consumerName, 'COUNT', this.#batchSize, 'STREAMS', stream, after)) as ReadReply;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) break;
        await this.#processAll(stream, entries, await this.#deliveryCounts(stream, entries));
        after = entries.at(-1)![0];
      }
    }
  }

  async #claimIdle(): Promise<void> {
    for (const stream of this.#streams) {
      let cursor = '0-0';
      // A bounded sweep per round, so claiming never starves new entries.
      for (let round = 0; round < 10 && !this.#stopping; round += 1) {
        const [next, entries, deleted = []] = (await this.#commands!.call(
          'XAUTOCLAIM', stream, this.#group, this.#consumerName, this.#claimIdleMs, cursor, 'COUNT', this.#batchSize,
        )) as ClaimReply;
        if (deleted.length > 0) this.#logger.warn({ stream, entryIds: deleted }, 'pending entries were trimmed from the stream before they were processed');
        if (entries.length > 0) {
          this.#logger.info({ stream, count: entries.length }, 'claimed idle entries');
          await this.#processAll(stream, entries, await this.#deliveryCounts(stream, entries));
        }
        if (next === '0-0') break;
        cursor = next;
      }
    }
  }

  async #readNew(): Promise<void> {
    const reply = (await this.#reader!.call(
      'XREADGROUP', 'GROUP', this.#group, this.#consumerName, 'COUNT', this.#batchSize, 'BLOCK', this.#blockMs,
      'STREAMS', ...this.#streams, ...this.#streams.map(() => '>'),
    )) as ReadReply;
    for (const [prefixedStream, entries] of reply ?? []) {
      await this.#processAll(prefixedStream.slice(this.#prefix.length), entries, new Map());
    }
  }

  /** How often each entry has been delivered: Redis counts, so crashes count too. */
  async #deliveryCounts(stream: string, entries: StreamEntry[]): Promise<Map<string, number>> {
    const pending = (await this.#commands!.xpending(
      stream, this.#group, entries[0]![0], entries.at(-1)![0], entries.length + 100, this.#consumerName,
    )) as [id: string, consumer: string, idleMs: number, deliveries: number][];
    return new Map(pending.map(([id, , , deliveries]) => [id, deliveries]));
  }

  /**
   * Handles the entries of one read in stream order and acknowledges, in one XACK, every entry
   * whose outcome committed (applied, a duplicate, skipped, dead-lettered). Acknowledging after
   * the commits, never before, is what makes a crash in between harmless: the entries are read
   * again and `processed_events` skips them.
   */
  async #processAll(stream: string, entries: StreamEntry[], deliveryCounts: Map<string, number>): Promise<void> {
    const done: string[] = [];
    try {
      let run: Candidate[] = [];
      for (const [entryId, fields] of entries) {
        if (this.#stopping) break;
        const delivery = { stream, entryId, deliveries: deliveryCounts.get(entryId) ?? 1 };
        if (delivery.deliveries > 1) this.#metrics?.redelivered(stream, this.#group);
        const candidate = await this.#check(delivery, fields);
        if (candidate === null) done.push(entryId);
        else run.push(candidate);
      }
      // Skipped and dead-lettered entries took no part in the transactions: applying the rest in
      // order among themselves keeps every event's order relative to the others it is applied with.
      while (run.length > 0 && !this.#stopping) run = await this.#applyRun(run, done);
    } finally {
      if (done.length > 0) await this.acknowledge(stream, done);
    }
  }

  /**
   * What to do with an entry: a candidate to apply, or null when it is settled without a
   * transaction of the consumer's (nothing in it, a type this group does not handle, or refused
   * and recorded in the dead letters) and only needs acknowledging.
   */
  async #check(delivery: Delivery, fields: string[] | null): Promise<Candidate | null> {
    if (fields === null) {
      // Redis 6.2 hands back pending entries that were trimmed away as empty ones: nothing to apply.
      this.#logger.warn({ ...delivery }, 'pending entry no longer in the stream; acknowledging it');
      return null;
    }
    const raw = fieldOf(fields, 'event');
    const carrier = traceCarrierOfEntry(fields);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw ?? '');
    } catch {
      await this.#deadLetter(delivery, raw, carrier, 'invalid_json', 'the entry has no JSON event field');
      return null;
    }
    const envelope = parsed as { type?: unknown };
    if (typeof envelope?.type === 'string' && isEventType(envelope.type) && !this.#handlers[envelope.type]) {
      // Another service's business: streams carry every event of their producer.
      this.#logger.debug({ ...delivery, type: envelope.type }, 'event not handled by this group; skipped');
      return null;
    }
    const check = checkEvent(parsed);
    if (!check.ok) {
      await this.#deadLetter(delivery, raw, carrier, check.reason, check.detail, undefined, parsed);
      return null;
    }
    return { delivery, event: check.event, raw: raw!, carrier };
  }

  /**
   * Applies a run of events in ONE transaction, each still recorded in `processed_events` and
   * applied only if new, so a read of many events costs one commit instead of one each. Returns
   * what is left to apply. When a handler throws, the transaction rolls back; the events before it
   * are applied again (the next call), the failed one is dealt with exactly as if it had been
   * alone (retried, left pending or dead-lettered), and the run goes on after it. A failure that
   * belongs to no one handler (the commit, a deadlock) is retried one event per transaction.
   */
  async #applyRun(run: Candidate[], done: string[]): Promise<Candidate[]> {
    if (run.length === 1) {
      if (await this.#apply(run[0]!)) done.push(run[0]!.delivery.entryId);
      return [];
    }
    let failed: { index: number; error: unknown } | undefined;
    try {
      const applied = await withTransaction(
        this.#dataSource,
        async (manager) => {
          // One statement records the whole run; in id order, so that two consumers racing on the same events lock them alike.
          const recorded: { event_id: string }[] = await manager.query(
            `INSERT INTO processed_events (consumer, event_id, event_type)
             SELECT $1, id, type FROM unnest($2::uuid[], $3::text[]) AS e(id, type) ORDER BY id
             ON CONFLICT DO NOTHING RETURNING event_id`,
            [this.#group, run.map(({ event }) => event.id), run.map(({ event }) => event.type)],
          );
          const fresh = new Set(recorded.map((row) => row.event_id));
          const outcomes: boolean[] = [];
          for (const [index, { event, delivery, carrier }] of run.entries()) {
            // The same event twice in one read (a relay that published it twice) is applied at its first place only.
            const isNew = fresh.delete(event.id.toLowerCase());
            outcomes.push(isNew);
            if (!isNew) continue;
            const handler = this.#handlers[event.type] as EventHandler<EventType>;
            try {
              await inProcessSpan(event, { stream: delivery.stream, group: this.#group }, carrier, () => handler(event, manager, delivery));
            } catch (error) {
              failed = { index, error };
              throw error;
            }
          }
          return outcomes;
        },
        this.#isolation,
      );
      for (const [index, { event, delivery }] of run.entries()) {
        this.#logger.debug({ ...delivery, eventId: event.id, type: event.type, group: this.#group }, applied[index] ? 'event applied' : 'event already applied; skipped');
        this.#metrics?.applied(this.#group, event.type, applied[index] ? 'applied' : 'deduplicated');
        done.push(delivery.entryId);
      }
      return [];
    } catch {
      if (failed === undefined || isConflict(failed.error)) {
        for (const candidate of run) {
          if (this.#stopping) break;
          if (await this.#apply(candidate)) done.push(candidate.delivery.entryId);
        }
        return [];
      }
      const { index } = failed;
      let before = run.slice(0, index);
      while (before.length > 0 && !this.#stopping) before = await this.#applyRun(before, done);
      if (this.#stopping) return [];
      if (await this.#failed(run[index]!, failed.error)) done.push(run[index]!.delivery.entryId);
      return run.slice(index + 1);
    }
  }

  /** Applies one event in a transaction of its own, retrying conflicts; true when it is settled (to acknowledge). */
  async #apply(candidate: Candidate): Promise<boolean> {
    const { delivery, event, carrier } = candidate;
    return inProcessSpan(event, { stream: delivery.stream, group: this.#group }, carrier, async () => {
      const handler = this.#handlers[event.type] as EventHandler<EventType>;
      const log = { ...delivery, eventId: event.id, type: event.type, group: this.#group };
      for (let attempt = 1; ; attempt += 1) {
        try {
          const applied = await withTransaction(this.#dataSource, (manager) => applyOnce(manager, this.#group, handler, event, delivery), this.#isolation);
          this.#logger.debug(log, applied ? 'event applied' : 'event already applied; skipped');
          this.#metrics?.applied(this.#group, event.type, applied ? 'applied' : 'deduplicated');
          return true;
        } catch (error) {
          // Two transactions that collided: trying again at once almost always works.
          if (isConflict(error) && attempt <= CONFLICT_RETRIES) {
            await delay(Math.random() * 20 * attempt);
            continue;
          }
          recordFailure(error);
          return this.#failed(candidate, error);
        }
      }
    });
  }

  /**
   * A handler failed for good on this delivery: the event stays pending for a later retry, or,
   * after `maxDeliveries`, goes to the dead letters (true: settled, to acknowledge). A database
   * that cannot be reached is no fault of the event's: the consumer waits for it instead.
   */
  async #failed({ delivery, event, raw, carrier }: Candidate, error: unknown): Promise<boolean> {
    if (!(await this.#databaseReachable())) throw new DatabaseUnavailableError(error);
    this.#metrics?.handlerFailed(this.#group, event.type);
    if (delivery.deliveries >= this.#maxDeliveries) {
      await this.#deadLetter(delivery, raw, carrier, 'handler_failed', error instanceof Error ? error.message : String(error), error, event);
      return true;
    }
    const log = { ...delivery, eventId: event.id, type: event.type, group: this.#group };
    this.#logger.warn({ ...log, err: error, maxDeliveries: this.#maxDeliveries, retryAfterMs: this.#claimIdleMs }, 'event handler failed; the event stays pending');
    return false;
  }

  /** Protected so a test can stand in for a crash between the commit and the acknowledgement. */
  protected async acknowledge(stream: string, entryIds: readonly string[]): Promise<void> {
    await this.#commands!.xack(stream, this.#group, ...entryIds);
  }

  /**
   * Recorded in the database, then acknowledged with the rest of its read: a crash in between
   * redelivers the entry, which is then recorded again as the same row (one per entry).
   */
  async #deadLetter(
    delivery: Delivery, raw: string | undefined, carrier: TraceCarrier | null, reason: string, detail: string, error?: unknown, parsed?: unknown,
  ): Promise<void> {
    const event = parsed as { id?: unknown; type?: unknown } | undefined;
    const id = await recordDeadLetter(this.#dataSource, {
      consumer: this.#group,
      consumerName: this.#consumerName,
      stream: delivery.stream,
      entryId: delivery.entryId,
      eventId: typeof event?.id === 'string' ? event.id : null,
      eventType: typeof event?.type === 'string' ? event.type : null,
      event: raw ?? '',
      traceContext: carrier,
      reason,
      detail,
      deliveries: delivery.deliveries,
    });
    this.#metrics?.deadLettered(this.#group, reason);
    this.#logger.warn({ ...delivery, err: error, reason, detail, deadLetterId: id }, 'event moved to the dead letters');
  }

  async #pruneIfDue(): Promise<void> {
    if (Date.now() - this.#prunedAt < PRUNE_EVERY_MS) return;
    this.#prunedAt = Date.now();
    const [, deleted] = await this.#dataSource.query(
      `DELETE FROM processed_events WHERE (consumer, event_id) IN (
         SELECT consumer, event_id FROM processed_events
          WHERE consumer = $1 AND processed_at < now() - $2 * interval '1 millisecond' LIMIT $3)`,
      [this.#group, this.#processedRetentionMs, PRUNE_BATCH],
    );
    if (deleted > 0) this.#logger.debug({ deleted }, 'old processed_events rows pruned');
  }

  async #databaseReachable(): Promise<boolean> {
    try {
      await this.#dataSource.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /** A consumer with nothing pending leaves the group, so names from past deployments do not pile up. */
  async #leaveGroupIfIdle(): Promise<void> {
    const commands = this.#commands;
    if (commands?.status !== 'ready') return;
    for (const stream of this.#streams) {
      try {
        const pending = await commands.xpending(stream, this.#group, '-', '+', 1, this.#consumerName);
        if ((pending as unknown[]).length === 0) await commands.xgroup('DELCONSUMER', this.#prefix + stream, this.#group, this.#consumerName);
      } catch (error) {
        this.#logger.debug({ err: error, stream }, 'could not leave the consumer group');
      }
    }
  }
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let index = 0; index + 1 < fields.length; index += 2) {
    if (fields[index] === name) return fields[index + 1];
  }
  return undefined;
}
