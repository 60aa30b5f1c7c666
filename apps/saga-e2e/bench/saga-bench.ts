/**
 * Orders placed per second with the saga completing (bench/saga-scenarios.ts), measured twice, each
 * time in a process of its own: with tracing off, as a service runs without an OTLP endpoint, and
 * with tracing on, every request sampled and exported over OTLP/HTTP to a no-op collector in this
 * process (what tracing costs the services, without a collector's own work). BENCH_TRACING=off
 * runs only the first.
 *
 *   npx nx bench saga-e2e
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startNoopOtlpCollector } from '@shop/testing';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function runScenarios(tracing: Record<string, string>): Promise<void> {
  const environment = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_')));
  const child = spawn(process.execPath, ['--import=tsx', 'apps/saga-e2e/bench/saga-scenarios.ts'], { cwd: ROOT, env: { ...environment, ...tracing }, stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the scenarios exited with ${String(code)}`);
}

console.log('saga benchmark: POST /v1/orders with Prefer: wait=10 until confirmed; catalog + orders in one process on 2 cores');
await runScenarios({});
if (process.env.BENCH_TRACING !== 'off') {
  const collector = await startNoopOtlpCollector();
  try {
    await runScenarios({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_TRACES_SAMPLER: 'always_on' });
    const { requests, bytes } = collector.received();
    console.log(`the no-op collector received ${requests} exports, ${(bytes / 1e6).toFixed(1)} MB of spans`);
  } finally {
    await collector.close();
  }
}
console.log('\ncontract: every order leaves pending within 2 s while all services are up (compare p99 above with 2000 ms)');
