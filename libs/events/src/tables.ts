import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox lives in every producing service's own database, so an event is written in the same
 * transaction as the change it reports: both commit or neither does. `position` orders publishing;
 * `published_at` says what the relay has handed to Redis (and when, for replays after Redis lost
 * data). The partial index keeps finding the unpublished rows cheap however long the table grows.
 */
export function createOutboxTableSql(): string[] {
  return [
    `CREATE TABLE outbox (
      position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      event_id uuid NOT NULL CONSTRAINT outbox_event_id_key UNIQUE,
      stream text NOT NULL,
      type text NOT NULL,
      source text NOT NULL,
      payload jsonb NOT NULL,
      occurred_at timestamptz(3) NOT NULL,
      published_at timestamptz(3)
    )`,
    `CREATE INDEX outbox_unpublished_position_idx ON outbox (position) WHERE published_at IS NULL`,
    `CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL`,
  ];
}

export function dropOutboxTableSql(): string[] {
  return [`DROP TABLE outbox`];
}

/**
 * Per stream, the highest outbox position below which every consumer group had acknowledged
 * everything, as the relay last read it from Redis. After Redis loses data, the relay replays only
 * the published rows above it: what was lost, not everything it ever published.
 */
export function createOutboxConsumedTableSql(): string[] {
  return [
    `CREATE TABLE outbox_consumed (
      stream text PRIMARY KEY,
      position bigint NOT NULL,
      recorded_at timestamptz(3) NOT NULL DEFAULT now()
    )`,
  ];
}

export function dropOutboxConsumedTableSql(): string[] {
  return [`DROP TABLE outbox_consumed`];
}

/**
 * What a consuming service has already applied, per consumer group, written in the transaction of
 * the effect: a redelivered event finds its row and is skipped, so effects happen once.
 */
export function createProcessedEventsTableSql(): string[] {
  return [
    `CREATE TABLE processed_events (
      consumer text NOT NULL,
      event_id uuid NOT NULL,
      event_type text NOT NULL,
      processed_at timestamptz(3) NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, event_id)
    )`,
    `CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at)`,
  ];
}

export function dropProcessedEventsTableSql(): string[] {
  return [`DROP TABLE processed_events`];
}

/**
 * The W3C trace context of the change that wrote the event (`{traceparent, tracestate}`), so the
 * relay and the consumers continue that trace; null when it was written untraced.
 */
export function addOutboxTraceContextSql(): string[] {
  return [`ALTER TABLE outbox ADD COLUMN trace_context jsonb`];
}

export function dropOutboxTraceContextSql(): string[] {
  return [`ALTER TABLE outbox DROP COLUMN trace_context`];
}

/**
 * Events a consuming service gave up on, in its own database, where they outlive anything that
 * happens to Redis: what arrived (the entry's `event` field as it was, which may not even be JSON),
 * why it was refused, and, once an operator dealt with it, how (`dead-letters redrive|discard`).
 * One row per stream entry: a consumer that crashed before acknowledging records it only once.
 */
export function createDeadLettersTableSql(): string[] {
  return [
    `CREATE TABLE dead_letters (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      consumer text NOT NULL,
      stream text NOT NULL,
      entry_id text NOT NULL,
      event_id text,
      event_type text,
      event text NOT NULL,
      trace_context jsonb,
      reason text NOT NULL,
      detail text NOT NULL,
      deliveries integer NOT NULL,
      consumer_name text NOT NULL,
      dead_at timestamptz(3) NOT NULL DEFAULT now(),
      resolved_at timestamptz(3),
      resolution text CONSTRAINT dead_letters_resolution_check CHECK (resolution IN ('redriven', 'already_applied', 'discarded')),
      CONSTRAINT dead_letters_entry_key UNIQUE (consumer, stream, entry_id),
      CONSTRAINT dead_letters_resolved_check CHECK ((resolved_at IS NULL) = (resolution IS NULL))
    )`,
    `CREATE INDEX dead_letters_open_idx ON dead_letters (consumer, id) WHERE resolved_at IS NULL`,
  ];
}

export function dropDeadLettersTableSql(): string[] {
  return [`DROP TABLE dead_letters`];
}

type MigrationClass = new () => MigrationInterface;

function migrationClass(name: string, timestamp: number, up: string[], down: string[]): MigrationClass {
  // TypeORM orders migrations by the 13-digit timestamp at the end of their name.
  if (!/^\d{13}$/.test(String(timestamp))) throw new Error(`migration timestamp must be 13 digits (Date.now()), got ${timestamp}`);
  const migrationName = `${name}${timestamp}`;
  return class implements MigrationInterface {
    name = migrationName;

    async up(queryRunner: QueryRunner): Promise<void> {
      for (const statement of up) await queryRunner.query(statement);
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      for (const statement of down) await queryRunner.query(statement);
    }
  };
}

/** A migration that creates the outbox, to list among a producing service's own migrations. */
export function createOutboxMigration(timestamp: number): MigrationClass {
  return migrationClass('CreateOutbox', timestamp, createOutboxTableSql(), dropOutboxTableSql());
}

/** A migration that creates `outbox_consumed` (the relay's checkpoints), to list after the outbox's. */
export function createOutboxConsumedMigration(timestamp: number): MigrationClass {
  return migrationClass('CreateOutboxConsumed', timestamp, createOutboxConsumedTableSql(), dropOutboxConsumedTableSql());
}

/** A migration that creates `processed_events`, to list among a consuming service's migrations. */
export function createProcessedEventsMigration(timestamp: number): MigrationClass {
  return migrationClass('CreateProcessedEvents', timestamp, createProcessedEventsTableSql(), dropProcessedEventsTableSql());
}

/** Adds `outbox.trace_context`, to list after `createOutboxMigration` among a producer's migrations. */
export function addOutboxTraceContextMigration(timestamp: number): MigrationClass {
  return migrationClass('AddOutboxTraceContext', timestamp, addOutboxTraceContextSql(), dropOutboxTraceContextSql());
}

/** A migration that creates `dead_letters`, to list among a consuming service's migrations. */
export function createDeadLettersMigration(timestamp: number): MigrationClass {
  return migrationClass('CreateDeadLetters', timestamp, createDeadLettersTableSql(), dropDeadLettersTableSql());
}
