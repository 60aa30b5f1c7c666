import { randomUUID } from 'node:crypto';
import type { EventEnvelope, EventPayload, EventSource, EventType } from '@shop/contracts';
import type { EntityManager } from 'typeorm';
import { currentTraceCarrier } from './event-tracing';
import { eventStream } from './streams';
import { payloadProblems } from './validation';

/** An event as a producer states it; the id and time are filled in unless given. */
export type NewEvent = {
  [T in EventType]: {
    type: T;
    /** The producing service, e.g. `orders`; its stream is `events:<source>` unless `stream` says otherwise. */
    source: EventSource;
    payload: EventPayload<T>;
    id?: string;
    occurredAt?: Date;
    stream?: string;
  };
}[EventType];

/** Set on the transaction's query runner, so a relay in this process hears of the commit at once. */
export const OUTBOX_WRITTEN = '@shop/events:outbox-written';

/**
 * Records an event in the outbox within the caller's transaction: it is published if and only if
 * the transaction commits. A payload that breaks its contract throws here, in the producer, where
 * the bug is, and rolls the change back with it. The active trace context is stored with it, so
 * the trace of the change goes on through the relay and every consumer.
 */
export async function appendEvent<E extends NewEvent>(manager: EntityManager, event: E): Promise<EventEnvelope<E['type']>> {
  const [envelope] = await appendEvents(manager, [event]);
  return envelope as EventEnvelope<E['type']>;
}

/** Several events at once, as `appendEvent` records one, in one statement; they are published in the order given. */
export async function appendEvents(manager: EntityManager, events: readonly NewEvent[]): Promise<EventEnvelope[]> {
  const queryRunner = manager.queryRunner;
  if (!queryRunner?.isTransactionActive) {
    throw new Error('appendEvent needs the EntityManager of an open transaction (withTransaction / dataSource.transaction)');
  }
  if (events.length === 0) return [];
  const carrier = currentTraceCarrier();
  const traceContext = carrier === null ? null : JSON.stringify(carrier);
  const envelopes = events.map((event) => {
    const problems = payloadProblems(event.type, event.payload);
    if (problems !== undefined) throw new Error(`invalid ${event.type} payload: ${problems}`);
    return {
      id: event.id ?? randomUUID(),
      type: event.type,
      source: event.source,
      occurredAt: (event.occurredAt ?? new Date()).toISOString(),
      payload: event.payload,
    } as EventEnvelope;
  });
  // unnest keeps the order of its arrays, and the identity column numbers rows in the order they are inserted.
  await manager.query(
    `INSERT INTO outbox (event_id, stream, type, source, payload, occurred_at, trace_context)
     SELECT id, stream, type, source, payload, occurred_at, $7::jsonb
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[]) AS e(id, stream, type, source, payload, occurred_at)`,
    [
      envelopes.map((envelope) => envelope.id),
      events.map((event) => event.stream ?? eventStream(event.source)),
      envelopes.map((envelope) => envelope.type),
      envelopes.map((envelope) => envelope.source),
      envelopes.map((envelope) => JSON.stringify(envelope.payload)),
      envelopes.map((envelope) => envelope.occurredAt),
      traceContext,
    ],
  );
  queryRunner.data[OUTBOX_WRITTEN] = true;
  return envelopes;
}
