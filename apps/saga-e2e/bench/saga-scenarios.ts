/**
 * The scenarios of the saga benchmark (bench/saga-bench.ts runs this, once per tracing mode):
 * catalog and orders in one process, each on its own database, through the real outbox, relay,
 * streams and consumers. Each request asks `Prefer: wait=10`, so its latency is the time from POST
 * to the settled (confirmed) order. Tracing is on when the environment names an OTLP endpoint.
 * BENCH_SCALE (1) multiplies the number of orders of each scenario, e.g. 0.2 on a busy machine.
 */
import { performance } from 'node:perf_hooks';
import { startTracing } from '@shop/telemetry';

// Before the services' modules are loaded, as in their main.ts.
const tracing = await startTracing({ serviceName: 'saga-bench' });
const { Saga } = await import('../test/helper');
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
type Saga = Awaited<ReturnType<typeof Saga.build>>;

const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => void teardowns.unshift(fn) };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function run(saga: Saga, label: string, concurrency: number, total: number, pick: () => string) {
  const latencies: number[] = [];
  let next = 0;
  let notConfirmed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next += 1;
        const begin = performance.now();
        // A refused or failed request (the machine overloaded) counts as not confirmed, and the run goes on.
        const order = await saga.placeOrder([{ productId: pick(), quantity: 1 }], { waitSeconds: 10 }).catch(() => null);
        latencies.push(performance.now() - begin);
        if (order?.status !== 'confirmed') notConfirmed += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const row = [label.padEnd(34), String(concurrency).padStart(5), String(total).padStart(7), ((total - notConfirmed) / seconds).toFixed(1).padStart(9)];
  row.push(percentile(latencies, 50).toFixed(1).padStart(9), percentile(latencies, 99).toFixed(1).padStart(9), String(notConfirmed).padStart(6));
  console.log(row.join(' '));
}

try {
  const saga = await Saga.build(t, { catalog: { LOG_LEVEL: 'warn' }, orders: { LOG_LEVEL: 'warn' } });
  const hot = await saga.createProduct(1_000_000, 1_250);
  // One at a time: a hundred at once can time out waiting for a connection on a busy machine.
  const many: Awaited<ReturnType<Saga["createProduct"]>>[] = [];
  for (let index = 0; index < 100; index += 1) many.push(await saga.createProduct(1_000_000, 100 + index));
  const anyOfMany = () => many[Math.floor(Math.random() * many.length)]!.id;

  // Warm-up: connections, JIT, prepared plans.
  for (let index = 0; index < 20; index += 1) await saga.placeOrder([{ productId: hot.id, quantity: 1 }], { waitSeconds: 10 });

  console.log(`\ntracing ${tracing ? 'ON: every request sampled, exported over OTLP/HTTP to a no-op collector' : 'off (no OTLP endpoint: the SDK is not loaded)'}`);
  console.log(['scenario'.padEnd(34), 'conc.'.padStart(5), 'orders'.padStart(7), 'confirmed/s'.padStart(9), 'p50 ms'.padStart(9), 'p99 ms'.padStart(9), 'other'.padStart(6)].join(' '));
  for (const [concurrency, orders] of [[1, 100], [8, 300], [32, 600]] as const) {
    const total = Math.max(concurrency, Math.round(orders * SCALE));
    await run(saga, 'one hot product', concurrency, total, () => hot.id);
    await run(saga, 'many products (100)', concurrency, total, anyOfMany);
  }
} finally {
  for (const teardown of teardowns) await teardown();
  await tracing?.shutdown();
}
