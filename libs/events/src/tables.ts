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
