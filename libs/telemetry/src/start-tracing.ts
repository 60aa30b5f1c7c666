import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { markTracing } from './tracing-state';

export interface TracingOptions {
  /** `service.name` of the spans, unless `OTEL_SERVICE_NAME` says otherwise. */
  serviceName: string;
  /**
   * Where spans go instead of the OTLP exporter the environment describes, and tracing on whatever
   * the environment says: tests (an in-memory exporter) and benchmarks.
   */
  spanProcessors?: SpanProcessor[];
  env?: NodeJS.ProcessEnv;
}

export interface Tracing {
  /** Exports what is still buffered and stops; call it once the service has closed. */
  shutdown(): Promise<void>;
}

/**
 * Tracing is on when the standard variables name an OTLP endpoint, and off otherwise; neither
 * `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none` can be overridden by an endpoint.
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((name) => name.trim());
  if (exporters.includes('none')) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/**
 * Starts the OpenTelemetry SDK when tracing is requested, and does nothing at all otherwise: the
 * SDK is imported only then, so a process without an endpoint never loads it.
 *
 * Call it first in `main.ts` and import everything else after it (`await import(...)`): the pg and
 * ioredis instrumentations patch those modules as they are loaded, so they must be registered
 * before the first `import` of them runs.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing | null> {
  if (options.spanProcessors === undefined && !tracingRequested(options.env)) return null;
  const { startSdk } = await import('./sdk');
  const sdk = await startSdk(options);
  markTracing(true);
  return {
    async shutdown() {
      markTracing(false);
      await sdk.shutdown();
    },
  };
}
