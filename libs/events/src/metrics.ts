import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { countDeadLetters } from './dead-letters';
import { keyPrefixOf } from './streams';

interface OutboxSource {
  producer: string;
  dataSource: DataSource;
}

/** A producer's stream: every group reading it is measured there too, so a consumer that is down still shows its lag. */
interface ProducedStream {
  stream: string;
  redis: Redis;
}

interface ConsumerSource {
  group: string;
  streams: string[];
  /** The consuming service's database: its `dead_letters` table is where given-up events wait. */
  dataSource: DataSource;
  redis: Redis;
}

/** XINFO GROUPS answers a flat list of name/value pairs per group. */
type GroupInfo = (string | number | null)[];

/** A source slower than this is left out of the scrape rather than holding it. */
const SOURCE_TIMEOUT_MS = 2_000;

/**
 * The event backbone's series, on the service's registry. Counters move where things happen
 * (the relay and the consumer call the hooks below); what costs a query (the outbox backlog, a
 * group's lag, the dead letter's length) is measured at scrape time, never per event.
 *
 * - `events_outbox_backlog{producer}`, `events_outbox_oldest_unpublished_age_seconds{producer}`
 * - `events_relay_published_total{producer}`, `events_relay_failures_total{producer}`, `events_relay_replayed_total{producer}`
 * - `events_consumer_lag{stream, group}`: entries not yet delivered to the group (XINFO GROUPS `lag`, Redis 7+)
 * - `events_consumer_pending{stream, group}`: delivered but not acknowledged
 * - `events_consumer_redeliveries_total{stream, group}`, `events_applied_total{group, type}`,
 *   `events_deduplicated_total{group, type}`, `events_handler_failures_total{group, type}`
 * - `events_dead_letter_entries{group}`, `events_dead_lettered_total{group, reason}`
 *
 * Labels are bounded: producers, groups and streams are a handful, types are the contracts' event
 * types and reasons a fixed set; never an event or order id.
 */
export class EventMetrics {
  readonly #outboxes: OutboxSource[] = [];
  readonly #consumers: ConsumerSource[] = [];
  readonly #producedStreams: ProducedStream[] = [];
  readonly #relayPublished: Counter<'producer'>;
  readonly #relayFailures: Counter<'producer'>;
  readonly #relayReplayed: Counter<'producer'>;
  readonly #redeliveries: Counter<'stream' | 'group'>;
  readonly #applied: Counter<'group' | 'type'>;
  readonly #deduplicated: Counter<'group' | 'type'>;
  readonly #handlerFailures: Counter<'group' | 'type'>;
  readonly #deadLettered: Counter<'group' | 'reason'>;
  readonly #backlog: Gauge;
  readonly #oldestAge: Gauge;
  readonly #lag: Gauge;
  readonly #pending: Gauge;
  readonly #deadLetters: Gauge;

  constructor(registry: Registry) {
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers: [registry] });
    this.#relayPublished = counter('events_relay_published_total', 'Outbox events the relay handed to Redis Streams.', ['producer']);
    this.#relayFailures = counter('events_relay_failures_total', 'Relay rounds that failed (Redis or the database unreachable) and will be retried.', ['producer']);
    this.#relayReplayed = counter('events_relay_replayed_total', 'Events published again because Redis had lost them.', ['producer']);
    this.#redeliveries = counter('events_consumer_redeliveries_total', 'Entries delivered more than once (handler failures, crashes, reclaims).', ['stream', 'group']);
    this.#applied = counter('events_applied_total', 'Events whose effect committed.', ['group', 'type']);
    this.#deduplicated = counter('events_deduplicated_total', 'Events skipped because their effect had already committed.', ['group', 'type']);
    this.#handlerFailures = counter('events_handler_failures_total', 'Handler failures; the event stays pending and is tried again.', ['group', 'type']);
    this.#deadLettered = counter('events_dead_lettered_total', 'Events moved to the dead letter, by reason.', ['group', 'reason']);

    const gauge = (name: string, help: string, labelNames: string[], measure: () => Promise<void>) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        // A scrape collects every series at once: the series fed by one query share its round trip.
        async collect() {
          await measure();
        },
      });
    const measureOutboxes = shared(() => this.#measureOutboxes());
    const measureConsumers = shared(() => this.#measureConsumers());
    this.#backlog = gauge('events_outbox_backlog', 'Outbox events not yet published.', ['producer'], measureOutboxes);
    this.#oldestAge = gauge('events_outbox_oldest_unpublished_age_seconds', 'Age of the oldest unpublished outbox event; 0 when none waits.', ['producer'], measureOutboxes);
    this.#lag = gauge(
      'events_consumer_lag',
      'Entries of the stream not yet delivered to the group (absent when Redis cannot tell, e.g. after deletions).',
      ['stream', 'group'],
      measureConsumers,
    );
    this.#pending = gauge('events_consumer_pending', 'Entries delivered to the group and not yet acknowledged.', ['stream', 'group'], measureConsumers);
    this.#deadLetters = gauge('events_dead_letter_entries', "Entries in the group's dead letter.", ['group'], measureConsumers);
  }

  async #measureOutboxes(): Promise<void> {
    const measured = await Promise.all(
      this.#outboxes.map(async ({ producer, dataSource }) => {
        const rows = await bounded(
          dataSource.query(
            `SELECT count(*)::int AS backlog, coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8 AS oldest
               FROM outbox WHERE published_at IS NULL`,
          ) as Promise<{ backlog: number; oldest: number }[]>,
        );
        return { producer, row: rows?.[0] };
      }),
    );
    this.#backlog.reset();
    this.#oldestAge.reset();
    for (const { producer, row } of measured) {
      if (!row) continue;
      this.#backlog.set({ producer }, row.backlog);
      this.#oldestAge.set({ producer }, row.oldest);
    }
  }

  async #measureConsumers(): Promise<void> {
    const groupsOf = async (redis: Redis, stream: string) =>
      // XINFO's key is not prefixed by ioredis.
      (await bounded(redis.call('XINFO', 'GROUPS', keyPrefixOf(redis) + stream) as Promise<GroupInfo[]>))?.map(fieldsOf);
    const produced = await Promise.all(this.#producedStreams.map(async ({ stream, redis }) => ({ stream, groups: (await groupsOf(redis, stream)) ?? [] })));
    const measured = await Promise.all(
      this.#consumers.map(async ({ group, streams, dataSource, redis }) => {
        const perStream = await Promise.all(
          streams.map(async (stream) => ({ stream, info: (await groupsOf(redis, stream))?.find((fields) => fields.get('name') === group) })),
        );
        return { group, perStream, deadLetters: await bounded(countDeadLetters(dataSource, group)) };
      }),
    );
    this.#lag.reset();
    this.#pending.reset();
    this.#deadLetters.reset();
    const record = (stream: string, info: Map<string, string | number | null>) => {
      const group = String(info.get('name'));
      const lag = info.get('lag');
      if (typeof lag === 'number') this.#lag.set({ stream, group }, lag);
      this.#pending.set({ stream, group }, Number(info.get('pending') ?? 0));
    };
    for (const { stream, groups } of produced) for (const info of groups) record(stream, info);
    for (const { group, perStream, deadLetters } of measured) {
      for (const { stream, info } of perStream) if (info) record(stream, info);
      if (deadLetters !== undefined) this.#deadLetters.set({ group }, deadLetters);
    }
  }

  /**
   * The relay of `producer`'s outbox: its backlog is measured at scrape time, and so are the groups
   * reading its stream (as well as by their own services: the same series, which rules take the max of).
   */
  watchOutbox(producer: string, dataSource: DataSource, produced?: ProducedStream): void {
    if (!this.#outboxes.some((source) => source.producer === producer && source.dataSource === dataSource)) this.#outboxes.push({ producer, dataSource });
    if (produced && !this.#producedStreams.some((known) => known.stream === produced.stream && known.redis === produced.redis)) this.#producedStreams.push(produced);
  }

  /** A consumer group: its lag, pending entries and dead letter are measured at scrape time. */
  watchConsumerGroup(source: ConsumerSource): void {
    if (!this.#consumers.some((known) => known.group === source.group && known.redis === source.redis)) this.#consumers.push(source);
  }

  relayPublished(producer: string, count: number): void {
    this.#relayPublished.inc({ producer }, count);
  }

  relayFailed(producer: string): void {
    this.#relayFailures.inc({ producer });
  }

  relayReplayed(producer: string, count: number): void {
    this.#relayReplayed.inc({ producer }, count);
  }

  redelivered(stream: string, group: string): void {
    this.#redeliveries.inc({ stream, group });
  }

  applied(group: string, type: string, outcome: 'applied' | 'deduplicated'): void {
    (outcome === 'applied' ? this.#applied : this.#deduplicated).inc({ group, type });
  }

  handlerFailed(group: string, type: string): void {
    this.#handlerFailures.inc({ group, type });
  }

  deadLettered(group: string, reason: string): void {
    this.#deadLettered.inc({ group, reason });
  }
}

function fieldsOf(info: GroupInfo): Map<string, string | number | null> {
  const fields = new Map<string, string | number | null>();
  for (let index = 0; index + 1 < info.length; index += 2) fields.set(String(info[index]), info[index + 1]!);
  return fields;
}

/** Calls made while one is running share it, so one scrape runs each query once. */
function shared(work: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= work().finally(() => {
      running = undefined;
    });
    return running;
  };
}

/** The value, or undefined when the source fails or is too slow: one bad source never fails a scrape. */
async function bounded<T>(work: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), SOURCE_TIMEOUT_MS)))]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
