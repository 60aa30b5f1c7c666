import { currentTraceCarrier, recordFailure, SpanKind, startSendSpan, inSpan, type TraceCarrier } from '@shop/telemetry';

/**
 * How a trace travels with an event: the producer's context is stored in the outbox beside the
 * event, the relay publishes it as `traceparent` / `tracestate` fields of the stream entry (next
 * to `event`, not inside it, so the envelope and its contract stay as they are), and the consumer
 * continues it. Entries without them (older producers, tracing off) start a trace of their own.
 */
export { currentTraceCarrier, recordFailure, type TraceCarrier };

const TRACE_FIELDS = ['traceparent', 'tracestate'] as const;

export function traceCarrierOfEntry(fields: string[]): TraceCarrier | null {
  const carrier: TraceCarrier = {};
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const name = fields[index] as (typeof TRACE_FIELDS)[number];
    if (TRACE_FIELDS.includes(name)) carrier[name] = fields[index + 1];
  }
  return carrier.traceparent ? carrier : null;
}

function entryFieldsOf(carrier: TraceCarrier | null): string[] {
  if (!carrier?.traceparent) return [];
  return carrier.tracestate ? ['traceparent', carrier.traceparent, 'tracestate', carrier.tracestate] : ['traceparent', carrier.traceparent];
}

interface PublishedRow {
  event_id: string;
  stream: string;
  type: string;
  trace_context: TraceCarrier | null;
}

/**
 * A PRODUCER span per traced row of a batch, under the context its producer stored; each entry
 * carries its span's context, so the consumer's span is the publication's child.
 */
export function tracePublication(rows: PublishedRow[]): { entryFields(index: number): string[]; end(error?: unknown): void } {
  const spans = rows.map((row) =>
    startSendSpan(`publish ${row.type}`, row.trace_context, {
      'messaging.system': 'redis',
      'messaging.operation.type': 'send',
      'messaging.destination.name': row.stream,
      'messaging.message.id': row.event_id,
    }),
  );
  return {
    entryFields: (index) => entryFieldsOf(spans[index]!.carrier ?? rows[index]!.trace_context),
    end: (error) => {
      for (const span of spans) span.end(error);
    },
  };
}

/** Runs a consumer's handling of one event under a CONSUMER span that continues the event's trace. */
export function inProcessSpan<T>(
  event: { id: string; type: string },
  delivery: { stream: string; group: string },
  carrier: TraceCarrier | null,
  work: () => Promise<T>,
): Promise<T> {
  return inSpan(
    `process ${event.type}`,
    {
      kind: SpanKind.CONSUMER,
      parent: carrier,
      attributes: {
        'messaging.system': 'redis',
        'messaging.operation.type': 'process',
        'messaging.destination.name': delivery.stream,
        'messaging.consumer.group.name': delivery.group,
        'messaging.message.id': event.id,
      },
    },
    work,
  );
}
