import { startTracing } from '@shop/telemetry';

// Before anything else is loaded: pg, ioredis and undici are instrumented as they are imported.
const tracing = await startTracing({ serviceName: 'orders' });
const [{ loadConfig, runService }, { buildApp }, { OrdersConfigSchema }] = await Promise.all([import('@shop/service-kit'), import('./app'), import('./config')]);

await runService(async () => {
  const config = loadConfig(OrdersConfigSchema);
  return { app: await buildApp(config), host: config.HOST, port: config.PORT, graceMs: config.SHUTDOWN_GRACE_MS, tracing };
});
