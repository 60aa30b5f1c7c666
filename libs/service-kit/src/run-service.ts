import closeWithGrace from 'close-with-grace';
import type { Tracing } from '@shop/telemetry';
import type { FastifyInstance } from 'fastify';
import { ConfigError } from './config';
import { serveMetrics, type MetricsConfig, type MetricsServer } from './metrics';

export interface Runnable {
  app: FastifyInstance;
  host: string;
  port: number;
  graceMs: number;
  /** Where `/metrics` is served (the management port), from the app's config; off when `METRICS_ENABLED` is false. */
  metrics?: MetricsConfig;
  /** Spans still buffered are exported after the service closed. */
  tracing?: Tracing | null;
}

const CLEAN_UP_MS = 5_000;

/**
 * What every `main.ts` does: build, listen, and on SIGINT/SIGTERM stop taking requests, let
 * those in flight finish (up to the grace period), then close. A bad config exits with the
 * list of what is wrong, without a stack trace.
 */
export async function runService(start: () => Promise<Runnable>): Promise<void> {
  let runnable: Runnable;
  try {
    runnable = await start();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    // A dependency that is not there yet (database, JWKS): one clear line, and the supervisor
    // (compose, Kubernetes) restarts the process.
    process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const { app, host, port, graceMs, tracing, metrics } = runnable;
  let metricsServer: MetricsServer | undefined;
  // The drain inside close() ends by the grace period; the rest (consumers, database) gets a little more.
  closeWithGrace({ delay: graceMs + CLEAN_UP_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an uncaught error');
    else app.log.info({ signal }, 'shutting down gracefully');
    await app.close();
    await metricsServer?.close();
    await tracing?.shutdown();
  });
  await app.listen({ host, port });
  if (metrics?.METRICS_ENABLED) {
    metricsServer = await serveMetrics(app, { host: metrics.METRICS_HOST, port: metrics.METRICS_PORT });
    app.log.info({ url: metricsServer.url }, 'metrics served on the management port');
  }
}
