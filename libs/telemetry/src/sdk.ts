import { register } from 'node:module';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import type { TracingOptions } from './start-tracing';

/** Paths that would only add noise: probes poll them every few seconds. */
const UNTRACED_PATHS = new Set(['/health', '/health/ready']);

/**
 * The SDK with the instrumentations the services need, and only traces: metrics are Prometheus's
 * (the management port) and logs go to stdout, so neither is exported over OTLP. Exporter,
 * endpoint, protocol, headers, sampler and resource all come from the standard `OTEL_*` variables.
 */
export async function startSdk(options: TracingOptions): Promise<NodeSDK> {
  // ESM imports of CommonJS packages (pg, ioredis) bypass `require`, which is where the
  // instrumentations hook in: import-in-the-middle's loader sees them, and only the modules an
  // instrumentation asked for are wrapped (the message channel tells the loader which).
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const env = options.env ?? process.env;
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: options.serviceName }),
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        ignorePaths: (route) => UNTRACED_PATHS.has(route.url),
        // The request span and the handler's are what a trace reader needs; a span per hook is noise.
        instrumentHooks: false,
        // Named as HTTP server spans are (`POST /v1/orders`): the route template, never the raw URL.
        requestHook: (span, request) => span.updateName(`${request.method} ${request.routeOptions.url ?? 'unmatched route'}`),
      }),
      // Only queries inside a trace: the relay's and the consumers' polling would otherwise be a trace each.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  sdk.start();
  await waitForAllMessagesAcknowledged();
  return sdk;
}
