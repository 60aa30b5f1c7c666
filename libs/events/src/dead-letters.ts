import { isEventType, type EventEnvelope, type EventType } from '@shop/contracts';
import { withTransaction, type IsolationLevel } from '@shop/db';
import type { DataSource } from 'typeorm';
import { inProcessSpan, type TraceCarrier } from './event-tracing';
import { applyOnce } from './apply-once';
import type { EventHandler, EventHandlers } from './stream-consumer';
import { checkEvent } from './validation';

/** An event a consumer gave up on, as the `dead_letters` table keeps it. */
export interface DeadLetter {
  id: string;
  /** The consumer group (the consuming service). */
  consumer: string;
  /** The instance that gave up on it. */
  consumerName: string;
  stream: string;
  entryId: string;
  /** As the event said, when it could be read. */
  eventId: string | null;
  eventType: string | null;
  /** The entry's `event` field exactly as it arrived (it may not even be JSON). */
  event: string;
  traceContext: TraceCarrier | null;
  /** `handler_failed`, `invalid_json`, `invalid_envelope`, `unknown_type` or `invalid_payload`. */
  reason: string;
  detail: string;
  deliveries: number;
  deadAt: Date;
  resolvedAt: Date | null;
  resolution: 'redriven' | 'already_applied' | 'discarded' | null;
}

export type NewDeadLetter = Omit<DeadLetter, 'id' | 'deadAt' | 'resolvedAt' | 'resolution'>;

const DETAIL_MAX_CHARS = 2_000;

const COLUMNS = `id::text AS "id", consumer, consumer_name AS "consumerName", stream, entry_id AS "entryId", event_id AS "eventId",
  event_type AS "eventType", event, trace_context AS "traceContext", reason, detail, deliveries, dead_at AS "deadAt",
  resolved_at AS "resolvedAt", resolution`;

/** Records an event the consumer gives up on; the same stream entry twice is one row. Returns its id. */
export async function recordDeadLetter(dataSource: DataSource, letter: NewDeadLetter): Promise<string> {
  const rows: { id: string }[] = await dataSource.query(
    `INSERT INTO dead_letters (consumer, consumer_name, stream, entry_id, event_id, event_type, event, trace_context, reason, detail, deliveries)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT ON CONSTRAINT dead_letters_entry_key DO UPDATE SET deliveries = GREATEST(dead_letters.deliveries, EXCLUDED.deliveries)
     RETURNING id::text AS id`,
    [
      letter.consumer, letter.consumerName, letter.stream, letter.entryId, letter.eventId, letter.eventType, letter.event,
      letter.traceContext === null ? null : JSON.stringify(letter.traceContext), letter.reason, letter.detail.slice(0, DETAIL_MAX_CHARS), letter.deliveries,
    ],
  );
  return rows[0]!.id;
}

/** How many events wait in the group's dead letters for an operator (what the dead-letter metric reports). */
export async function countDeadLetters(dataSource: DataSource, consumer: string): Promise<number> {
  const [row] = await dataSource.query(`SELECT count(*)::int AS count FROM dead_letters WHERE consumer = $1 AND resolved_at IS NULL`, [consumer]);
  return row.count;
}

/** The group's dead letters, oldest first: those still waiting, or all of them. */
export async function listDeadLetters(
  dataSource: DataSource,
  consumer: string,
  options: { includeResolved?: boolean; limit?: number } = {},
): Promise<DeadLetter[]> {
  return dataSource.query(
    `SELECT ${COLUMNS} FROM dead_letters WHERE consumer = $1 ${options.includeResolved ? '' : 'AND resolved_at IS NULL'} ORDER BY id LIMIT $2`,
    [consumer, options.limit ?? 100],
  );
}

export async function findDeadLetter(dataSource: DataSource, consumer: string, id: string): Promise<DeadLetter | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  const [row] = await dataSource.query(`SELECT ${COLUMNS} FROM dead_letters WHERE consumer = $1 AND id = $2`, [consumer, id]);
  return row ?? null;
}

/** Why an operator's request on a dead letter was refused; nothing changed. */
export class DeadLetterError extends Error {
  constructor(
    readonly code: 'not_found' | 'already_resolved' | 'still_invalid' | 'no_handler' | 'handler_failed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DeadLetterError';
  }
}

export interface RedriveOptions {
  group: string;
  /** The service's handlers, as its consumer has them. */
  handlers: EventHandlers;
  isolation?: IsolationLevel;
}

/**
 * Delivers a dead letter to its handler again, once its cause is fixed (a deployment that knows the
 * type or accepts the payload, a repaired row or schema). The effect, the `processed_events` record
 * and the dead letter's resolution commit in one transaction, with the row locked: an event the
 * group has applied meanwhile (the producer's relay replayed it) is not applied again but resolved
 * as `already_applied`, two operators re-driving at once apply it once, and a handler that fails
 * again changes nothing.
 */
export async function redriveDeadLetter(dataSource: DataSource, options: RedriveOptions, id: string): Promise<'redriven' | 'already_applied'> {
  const letter = await findDeadLetter(dataSource, options.group, id);
  if (!letter) throw new DeadLetterError('not_found', `no dead letter ${id} for ${options.group}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(letter.event);
  } catch {
    throw new DeadLetterError('still_invalid', `dead letter ${id} is not JSON; it can only be discarded`);
  }
  const check = checkEvent(parsed);
  if (!check.ok) throw new DeadLetterError('still_invalid', `dead letter ${id} still breaks the contract (${check.reason}: ${check.detail})`);
  const event: EventEnvelope = check.event;
  const handler = isEventType(event.type) ? (options.handlers[event.type] as EventHandler<EventType> | undefined) : undefined;
  if (!handler) throw new DeadLetterError('no_handler', `${options.group} has no handler for ${event.type}`);
  const delivery = { stream: letter.stream, entryId: letter.entryId, deliveries: letter.deliveries + 1 };
  try {
    return await inProcessSpan(event, { stream: letter.stream, group: options.group }, letter.traceContext, () =>
      withTransaction(
        dataSource,
        async (manager) => {
          const [open] = await manager.query(`SELECT 1 FROM dead_letters WHERE id = $1 AND resolved_at IS NULL FOR UPDATE`, [id]);
          if (!open) throw new DeadLetterError('already_resolved', `dead letter ${id} was already ${letter.resolution ?? 'resolved'}`);
          const resolution = (await applyOnce(manager, options.group, handler, event, delivery)) ? 'redriven' : 'already_applied';
          await manager.query(`UPDATE dead_letters SET resolved_at = now(), resolution = $2 WHERE id = $1`, [id, resolution]);
          return resolution;
        },
        options.isolation ?? 'READ COMMITTED',
      ),
    );
  } catch (error) {
    if (error instanceof DeadLetterError) throw error;
    throw new DeadLetterError('handler_failed', `the handler failed again: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Gives up on a dead letter for good (it stays in the table, marked `discarded`). */
export async function discardDeadLetter(dataSource: DataSource, consumer: string, id: string): Promise<void> {
  if (!(await findDeadLetter(dataSource, consumer, id))) throw new DeadLetterError('not_found', `no dead letter ${id} for ${consumer}`);
  const [, updated] = await dataSource.query(
    `UPDATE dead_letters SET resolved_at = now(), resolution = 'discarded' WHERE consumer = $1 AND id = $2 AND resolved_at IS NULL`,
    [consumer, id],
  );
  if (updated === 0) throw new DeadLetterError('already_resolved', `dead letter ${id} was already resolved`);
}
