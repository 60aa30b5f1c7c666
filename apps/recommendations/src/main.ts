import { loadConfig, runService } from '@shop/service-kit';
import { buildApp } from './app';
import { RecommendationsConfigSchema } from './config';

await runService(async () => {
  const config = loadConfig(RecommendationsConfigSchema);
  return { app: await buildApp(config), host: config.HOST, port: config.PORT, graceMs: config.SHUTDOWN_GRACE_MS };
});
