import { randomFillSync } from 'node:crypto';
import { currentTraceCarrier } from '@shop/telemetry';

/** W3C Trace Context, version 00: `00-<trace-id>-<parent-id>-<flags>`. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_PARENT_ID = '0'.repeat(16);

export interface TraceContext {
  traceId: string;
  /** The header to send upstream: same trace, the gateway's hop as parent. */
  traceparent: string;
  /**
   * OpenTelemetry traces this request: undici's instrumentation sends the upstream call's own span
   * as the parent, so the gateway must not add a second `traceparent` to what undici sends.
   */
  instrumented: boolean;
}

/**
 * The trace a request travels under: OpenTelemetry's request span when tracing is on (it has
 * already continued the caller's `traceparent`), else the gateway's own hop (`continueTrace`).
 */
export function traceOfRequest(offered: string | string[] | undefined): TraceContext {
  const carrier = currentTraceCarrier();
  if (carrier?.traceparent) return { traceId: carrier.traceparent.slice(3, 35), traceparent: carrier.traceparent, instrumented: true };
  return continueTrace(offered);
}

/**
 * The gateway is one hop of the trace: it keeps the caller's trace id and flags and sends its own
 * span id as the parent, or starts a new trace when the caller sent none (or an invalid one).
 */
export function continueTrace(offered: string | string[] | undefined): TraceContext {
  const match = typeof offered === 'string' ? TRACEPARENT.exec(offered.trim().toLowerCase()) : null;
  if (match) {
    const [, version, traceId, parentId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
    // Version ff is forbidden; version 00 has nothing after the flags.
    const valid = version !== 'ff' && traceId !== ZERO_TRACE_ID && parentId !== ZERO_PARENT_ID && (version !== '00' || rest === undefined);
    if (valid) return { traceId, traceparent: `00-${traceId}-${newSpanId()}-${flags}`, instrumented: false };
  }
  let traceId = randomHex(16);
  while (traceId === ZERO_TRACE_ID) traceId = randomHex(16);
  return { traceId, traceparent: `00-${traceId}-${newSpanId()}-01`, instrumented: false };
}

/** Random bytes drawn in batches: one call to the generator per 512 ids instead of one each. */
const pool = Buffer.alloc(8 * 512);
let poolOffset = pool.length;

function randomHex(bytes: 8 | 16): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += bytes;
  return pool.toString('hex', poolOffset - bytes, poolOffset);
}

function newSpanId(): string {
  let id = randomHex(8);
  while (id === ZERO_PARENT_ID) id = randomHex(8);
  return id;
}
