import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { isTracing } from './tracing-state';

/**
 * W3C Trace Context as text (`traceparent`, and `tracestate` when there is one): what travels
 * with a message so that its consumer continues the producer's trace.
 */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

const tracer = trace.getTracer('@shop/telemetry');

/** The active trace context, to store beside a message; null when tracing is off or nothing is traced. */
export function currentTraceCarrier(): TraceCarrier | null {
  if (!isTracing()) return null;
  return carrierOf(context.active());
}

function carrierOf(activeContext: Context): TraceCarrier | null {
  const carrier: TraceCarrier = {};
  propagation.inject(activeContext, carrier);
  return carrier.traceparent ? carrier : null;
}

function contextOf(carrier: TraceCarrier | null | undefined): Context {
  // A message without a context (an older producer, tracing off there) starts a trace of its own.
  return carrier?.traceparent ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

function fail(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** A span around a message being handed on, whose context the message carries instead of its producer's. */
export interface SendSpan {
  /** The context to send with the message: this span as its parent. */
  readonly carrier: TraceCarrier | null;
  end(error?: unknown): void;
}

const NOT_TRACED: SendSpan = { carrier: null, end: () => undefined };

/** Starts a PRODUCER span under the message's stored context (or forwards nothing when there is none). */
export function startSendSpan(name: string, parent: TraceCarrier | null | undefined, attributes: Attributes): SendSpan {
  if (!isTracing() || !parent?.traceparent) return NOT_TRACED;
  const span = tracer.startSpan(name, { kind: SpanKind.PRODUCER, attributes }, contextOf(parent));
  return {
    carrier: carrierOf(trace.setSpan(ROOT_CONTEXT, span)),
    end(error?: unknown) {
      if (error !== undefined) fail(span, error);
      span.end();
    },
  };
}

/**
 * Runs the work under a span of its own, a child of the active span (or of `parent` when given,
 * e.g. a message's carried context), with the span's context active inside, so everything the
 * work does (queries, messages it sends) joins the same trace. Just runs it when tracing is off.
 */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; parent?: TraceCarrier | null; attributes?: Attributes },
  work: () => Promise<T>,
): Promise<T> {
  if (!isTracing()) return work();
  const parentContext = options.parent !== undefined ? contextOf(options.parent) : context.active();
  return tracer.startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} }, parentContext, async (span) => {
    try {
      return await work();
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Marks the active span as failed, for work that handles its error rather than throwing it on. */
export function recordFailure(error: unknown): void {
  if (!isTracing()) return;
  const span = trace.getSpan(context.active());
  if (span) fail(span, error);
}

/** `trace_id` and `span_id` of the active span, for log lines (pino's `mixin`). */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const spanContext = trace.getSpan(context.active())?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/** The active trace id, or null (no tracing, or nothing traced). */
export function activeTraceId(): string | null {
  if (!isTracing()) return null;
  const spanContext = trace.getSpan(context.active())?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : null;
}
