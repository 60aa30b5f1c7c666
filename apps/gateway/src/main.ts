import { loadConfig, runService } from '@shop/service-kit';
import { buildApp } from './app';
import { GatewayConfigSchema } from './config';

await runService(async () => {
  const config = loadConfig(GatewayConfigSchema);
  return { app: await buildApp(config), host: config.HOST, port: config.PORT, graceMs: config.SHUTDOWN_GRACE_MS, metrics: config };
});
