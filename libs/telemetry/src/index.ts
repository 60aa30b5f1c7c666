// Traces through OpenTelemetry, configured by the standard OTEL_* variables and off without an endpoint.
// This entry point never loads the SDK itself: `startTracing` imports it only when tracing is on.
export { startTracing, tracingRequested, type Tracing, type TracingOptions } from './start-tracing';
export { isTracing } from './tracing-state';
export { currentTraceCarrier, startSendSpan, inSpan, recordFailure, traceLogFields, activeTraceId, type TraceCarrier, type SendSpan } from './spans';
export { SpanKind } from '@opentelemetry/api';
