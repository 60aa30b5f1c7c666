import { loadConfig, runService } from '@shop/service-kit';
import type { Tracing } from '@shop/telemetry';
import { buildApp } from './app';
import { OrdersConfigSchema } from './config';

/** Reads the environment, builds the service, listens, and closes gracefully (see main.ts for why this is apart). */
export async function serve(tracing: Tracing | null): Promise<void> {
  await runService(async () => {
    const config = loadConfig(OrdersConfigSchema);
    return { app: await buildApp(config), host: config.HOST, port: config.PORT, graceMs: config.SHUTDOWN_GRACE_MS, tracing, metrics: config };
  });
}
