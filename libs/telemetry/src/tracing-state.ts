/**
 * Whether this process exports traces. OpenTelemetry's API is process-wide by design (one global
 * tracer provider), so this is too: it is set once, by `startTracing`, before any service is built.
 */
let tracing = false;

export function isTracing(): boolean {
  return tracing;
}

export function markTracing(on: boolean): void {
  tracing = on;
}
