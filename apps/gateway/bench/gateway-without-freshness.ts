/**
 * The gateway exactly as `src/main.ts` runs it, but without the authorization freshness check at
 * the edge: the benchmark runs it beside the real one, so the difference is the check's cost.
 * Never a way to run the gateway (the switch exists only in `BuildOptions`, not in the environment).
 */
import { loadConfig, runService } from '@shop/service-kit';
import { buildApp } from '../src/app';
import { GatewayConfigSchema } from '../src/config';

await runService(async () => {
  const config = loadConfig(GatewayConfigSchema);
  return { app: await buildApp(config, { authorizationFreshness: false }), host: config.HOST, port: config.PORT, graceMs: config.SHUTDOWN_GRACE_MS };
});
