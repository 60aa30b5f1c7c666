/**
 * Proxy overhead: autocannon against GET /v1/products/{id} on the catalog directly, then the
 * same request through the gateway (valid token, rate limits, access log, security headers: its
 * production configuration). Prints throughput and p99 of each and the ratio gateway/direct
 * beside its target. A script that prints figures, not a test: nothing is asserted.
 *
 *   npx nx run gateway:bench
 *
 * Three yardsticks run in the same rounds, so the gateway's figure can be read against them on
 * this machine rather than against numbers from elsewhere:
 * - a bare node:http + undici proxy (bench/bare-proxy.ts) that only forwards: the most any
 *   Node.js proxy gets here;
 * - a plain @fastify/http-proxy (bench/http-proxy-gateway.ts), the reference (~0.25);
 * - nginx with an upstream keep-alive pool, one worker, when `nginx` is on the PATH (the issue's
 *   other reference, ~0.65); skipped otherwise.
 *
 * The gateway runs twice: as deployed (metrics on, its management port scraped every 5 s) and
 * with METRICS_ENABLED=false ("no metrics"); "metrics on/off" is the throughput ratio of the two
 * (the budget: metrics cost at most 5%), beside the CPU time each spends per request, read from
 * /proc: a figure that a busy machine blurs much less than throughput.
 *
 * The runs alternate for BENCH_ROUNDS rounds (default: one per target), so that the machine's
 * drift over time weighs on all of them alike, and each round starts one target later, so that
 * every target runs in every position once: the run right after `direct` (which loads the
 * catalog hardest) was measured 5-9% slower than the same gateway run later in the round, enough
 * to pass for the cost of metrics. The ratios are of the means.
 * BENCH_SECONDS (5 per run) and BENCH_CONNECTIONS (32) set the load; BENCH_UPSTREAM=stand-in
 * skips the real catalog; BENCH_GATEWAY_LOG_LEVEL (info) sets the gateway's log level;
 * BENCH_PROFILE_DIR writes a V8 CPU profile of the gateway there.
 *
 * The gateway also runs a second time without the authorization freshness check at the edge
 * (bench/gateway-without-freshness.ts), and the check's own cost is measured in-process: a
 * cached answer (what nearly every request pays) and a Redis round trip (once per user per
 * second per replica).
 *
 * Tracing's cost: beside the gateway as deployed (tracing off: no OTLP endpoint), a second gateway
 * (`gateway+otel`) runs with OpenTelemetry on, every request sampled (`always_on`), exporting over
 * OTLP/HTTP to a no-op collector in this process; BENCH_TRACING=off leaves it out.
 *
 * The real catalog is used when it starts (a child process on a fresh database, one product);
 * otherwise a Fastify stand-in (bench/catalog-stand-in.ts) answering the same product JSON with
 * an ETag. Every run sends the same token, so the catalog does the same work in all of them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestRedisPrefix, createTestTokenIssuer, startNoopOtlpCollector, TEST_REDIS_URL } from '@shop/testing';
import { AuthorizationFreshness, type Principal } from '@shop/token-verifier';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { cleanUp, cleanups, freePort, processCpuMs, start, startRealCatalog, startStandInCatalog, stopAtCleanUp, waitForHealth } from './bench-processes';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS_OVERRIDE = process.env.BENCH_ROUNDS === undefined ? null : Number(process.env.BENCH_ROUNDS);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const GATEWAY_LOG_LEVEL = process.env.BENCH_GATEWAY_LOG_LEVEL ?? 'info';
const TARGET_RATIO = 0.5;
const TRACED = process.env.BENCH_TRACING !== 'off';

/** auth's JWKS, as the catalog and the gateway fetch it. */
async function startJwks(jwks: unknown): Promise<string> {
  const server = createHttpServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`;
}

/** nginx as a plain reverse proxy to the catalog, or null when it is not installed. */
async function startNginx(catalogUrl: string): Promise<string | null> {
  if (spawnSync('nginx', ['-v']).error !== undefined) return null;
  const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const upstream = new URL(catalogUrl).host;
  // One worker, as each Node.js proxy here is one process; keep-alive to the upstream as undici's
  // pool, and no connection closed after 1,000 requests (nginx's default, on both sides).
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream catalog { server ${upstream}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location = /health { return 200 ok; }
    location / { proxy_pass http://catalog; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  // SIGQUIT is nginx's graceful shutdown.
  stopAtCleanUp(child, 'SIGQUIT');
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, child);
  return url;
}

async function load(title: string, url: string, headers: Record<string, string>, seconds: number) {
  const result = await autocannon({ title, url, headers, connections: CONNECTIONS, pipelining: 1, duration: seconds });
  const non2xx = result.non2xx + result.errors + result.timeouts;
  return { rps: result.requests.average, p99: result.latency.p99, p50: result.latency.p50, total: result.requests.total, non2xx };
}

/** The freshness check alone: ns per cached answer, µs per Redis round trip (a miss). */
async function measureFreshnessCheck(): Promise<{ hitNs: number; missUs: number }> {
  const prefix = createTestRedisPrefix('bench_freshness');
  cleanups.push(() => prefix.clear());
  const redis = new Redis(TEST_REDIS_URL, { keyPrefix: prefix.prefix });
  cleanups.push(() => redis.disconnect());
  await redis.ping();
  const principal: Principal = {
    userId: '0b6f2c1e-6a7d-4f55-9a63-2f4c1d7e9b11',
    role: 'customer',
    scopes: [],
    tokenId: 'bench',
    kind: 'user',
    ownerId: '0b6f2c1e-6a7d-4f55-9a63-2f4c1d7e9b11',
    grantId: '0b6f2c1e-6a7d-4f55-9a63-2f4c1d7e9b12',
    authzVersion: 0,
    expiresAtMs: Date.now() + 3_600_000,
  };
  const cached = new AuthorizationFreshness(redis, { cacheMs: 60_000 });
  await cached.check(principal);
  const hits = 1_000_000;
  let started = process.hrtime.bigint();
  for (let index = 0; index < hits; index += 1) await cached.check(principal);
  const hitNs = Number(process.hrtime.bigint() - started) / hits;
  const uncached = new AuthorizationFreshness(redis, { cacheMs: 0 });
  const misses = 2_000;
  started = process.hrtime.bigint();
  for (let index = 0; index < misses; index += 1) await uncached.check(principal);
  const missUs = Number(process.hrtime.bigint() - started) / misses / 1_000;
  return { hitNs, missUs };
}

async function main() {
  // Whatever the caller's environment says, the services as deployed here have tracing off.
  for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name];
  const issuer = await createTestTokenIssuer();
  // The longest a verifier accepts (15 minutes): far longer than the runs take.
  const adminToken = await issuer.tokenFor({ role: 'admin', ttlSeconds: 900 });
  const readerToken = await issuer.tokenFor({ role: 'customer', ttlSeconds: 900 });
  const jwksUrl = await startJwks(issuer.jwks);

  let catalog: { url: string; productId: string };
  let upstreamKind: string;
  try {
    if (process.env.BENCH_UPSTREAM === 'stand-in') throw new Error('BENCH_UPSTREAM=stand-in');
    catalog = await startRealCatalog(jwksUrl, adminToken);
    upstreamKind = 'the real catalog service (child process, fresh database, one product)';
  } catch (error) {
    process.stderr.write(`real catalog unavailable (${(error as Error).message}); using a Fastify stand-in\n`);
    catalog = await startStandInCatalog();
    upstreamKind = 'a Fastify stand-in answering the product JSON with an ETag';
  }

  const redis = createTestRedisPrefix('bench_gateway');
  cleanups.push(() => redis.clear());
  // The gateway as deployed (metrics on, its management port scraped every 5 s as compose's
  // Prometheus does), and the same gateway with METRICS_ENABLED=false: their ratio is what metrics cost.
  const startGateway = async (
    name: string,
    { metricsEnabled = true, env = {}, script = 'apps/gateway/src/main.ts' }: { metricsEnabled?: boolean; env?: Record<string, string>; script?: string } = {},
  ) => {
    const port = await freePort();
    const metricsPort = await freePort();
    const gatewayEnv = {
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_ENABLED: String(metricsEnabled),
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: GATEWAY_LOG_LEVEL,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      CATALOG_URL: catalog.url,
      AUTH_URL: 'http://127.0.0.1:9',
      ORDERS_URL: 'http://127.0.0.1:9',
      AUTH_JWKS_URL: jwksUrl,
      // Rate limits stay on (every request still counts in Redis) but high enough not to refuse the load.
      RATE_LIMIT_MAX: '1000000000',
      RATE_LIMIT_ANONYMOUS_MAX: '1000000000',
      ...env,
    };
    // BENCH_PROFILE_DIR profiles the gateway as deployed only.
    const child = start(name, script, gatewayEnv, { profile: name === 'gateway' });
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, child);
    cpuOf.set(url, () => processCpuMs(child.pid!));
    if (metricsEnabled) {
      const scraper = setInterval(() => void fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((response) => response.text(), () => undefined), 5_000);
      cleanups.push(() => clearInterval(scraper));
    }
    return url;
  };
  /** CPU time of a target's process: how much work a request costs it, whatever else runs on the machine. */
  const cpuOf = new Map<string, () => number>();
  const gatewayUrl = await startGateway('gateway');
  const unmeteredUrl = await startGateway('gateway without metrics', { metricsEnabled: false });
  const unfreshUrl = await startGateway('gateway without the freshness check', { script: 'apps/gateway/bench/gateway-without-freshness.ts' });
  const collector = TRACED ? await startNoopOtlpCollector() : null;
  if (collector) cleanups.push(() => collector.close());
  const tracedGatewayUrl = collector
    ? await startGateway('gateway+otel', { env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_TRACES_SAMPLER: 'always_on', OTEL_SERVICE_NAME: 'gateway-bench' } })
    : null;
  const barePort = await freePort();
  const bareUrl = `http://127.0.0.1:${barePort}`;
  const bare = start('bare proxy', 'apps/gateway/bench/bare-proxy.ts', { HOST: '127.0.0.1', PORT: String(barePort), CATALOG_URL: catalog.url });
  await waitForHealth(bareUrl, bare);
  const httpProxyPort = await freePort();
  const httpProxyUrl = `http://127.0.0.1:${httpProxyPort}`;
  const httpProxy = start('@fastify/http-proxy', 'apps/gateway/bench/http-proxy-gateway.ts', { HOST: '127.0.0.1', PORT: String(httpProxyPort), CATALOG_URL: catalog.url });
  await waitForHealth(httpProxyUrl, httpProxy);
  const nginxUrl = await startNginx(catalog.url);

  const path = `/v1/products/${catalog.productId}`;
  const headers = { authorization: `Bearer ${readerToken}` };
  const targets = [
    { name: 'direct', base: catalog.url },
    { name: 'gateway', base: gatewayUrl },
    { name: 'no metrics', base: unmeteredUrl },
    { name: 'no freshness', base: unfreshUrl },
    ...(tracedGatewayUrl === null ? [] : [{ name: 'gateway+otel', base: tracedGatewayUrl }]),
    { name: 'bare proxy', base: bareUrl },
    { name: 'http-proxy', base: httpProxyUrl },
    ...(nginxUrl === null ? [] : [{ name: 'nginx', base: nginxUrl }]),
  ];
  for (const { name, base } of targets) {
    const response = await fetch(`${base}${path}`, { headers });
    if (response.status !== 200) throw new Error(`${name}: ${response.status} ${await response.text()}`);
  }

  const rounds = ROUNDS_OVERRIDE ?? targets.length;
  process.stdout.write(
    `upstream: ${upstreamKind}\n` +
      `load: ${CONNECTIONS} connections, GET ${path} with a valid token; ${rounds} rounds of ${SECONDS} s per target, alternating and rotating, after a 2 s warm-up each\n\n`,
  );
  for (const { name, base } of targets) await load(`warm-up ${name}`, `${base}${path}`, headers, 2);

  type Result = Awaited<ReturnType<typeof load>>;
  const results = new Map<string, Result[]>(targets.map(({ name }) => [name, []]));
  const cpu = new Map<string, { ms: number; requests: number }>();
  const row = (name: string, r: Pick<Result, 'rps' | 'p50' | 'p99' | 'total' | 'non2xx'>) =>
    `  ${name.padEnd(12)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${String(r.p50).padStart(3)} ms   p99 ${String(r.p99).padStart(3)} ms   ${r.total} requests, ${r.non2xx} not 2xx/errors\n`;
  for (let round = 1; round <= rounds; round += 1) {
    process.stdout.write(`round ${round}\n`);
    const shift = (round - 1) % targets.length;
    for (const { name, base } of [...targets.slice(shift), ...targets.slice(0, shift)]) {
      const cpuMs = cpuOf.get(base);
      const before = cpuMs?.();
      const result = await load(name, `${base}${path}`, headers, SECONDS);
      results.get(name)!.push(result);
      if (cpuMs && before !== undefined) {
        const spent = cpu.get(name) ?? { ms: 0, requests: 0 };
        cpu.set(name, { ms: spent.ms + cpuMs() - before, requests: spent.requests + result.total });
      }
      process.stdout.write(row(name, result));
    }
  }

  const summarise = (runs: Result[]): Result => ({
    rps: runs.reduce((sum, run) => sum + run.rps, 0) / runs.length,
    p50: Math.max(...runs.map((run) => run.p50)),
    p99: Math.max(...runs.map((run) => run.p99)),
    total: runs.reduce((sum, run) => sum + run.total, 0),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
  });
  const overall = new Map(targets.map(({ name }) => [name, summarise(results.get(name)!)]));
  const direct = overall.get('direct')!;
  const freshnessCost = await measureFreshnessCheck();
  const ratioOf = (name: string) => overall.get(name)!.rps / direct.rps;
  const ratio = ratioOf('gateway');
  const yardsticks: Record<string, string> = {
    'no metrics': 'the same gateway with METRICS_ENABLED=false',
    'bare proxy': 'node:http + undici, forwards and nothing else: the most a Node.js proxy gets here',
    'http-proxy': 'a plain @fastify/http-proxy: the issue says about 0.25',
    nginx: 'nginx, one worker: the issue says about 0.65',
  };
  process.stdout.write(`\nall rounds (mean throughput, worst p50/p99)\n${targets.map(({ name }) => row(name, overall.get(name)!)).join('')}`);
  process.stdout.write(
    `\nthroughput ratio gateway/direct: ${ratio.toFixed(2)}  (target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'})\n` +
      targets
        .filter(({ name }) => name in yardsticks)
        .map(({ name }) => `throughput ratio ${name}/direct: ${ratioOf(name).toFixed(2)}  (${yardsticks[name]})\n`)
        .join('') +
      (nginxUrl === null ? 'nginx: not installed, skipped\n' : '') +
      `gateway/bare proxy: ${(ratio / ratioOf('bare proxy')).toFixed(2)}\n` +
      `metrics on/off: ${(ratio / ratioOf('no metrics')).toFixed(3)} of the throughput (budget: metrics cost at most 5%, i.e. >= 0.95)\n` +
      `gateway CPU per request: ${[...cpu].map(([name, { ms, requests }]) => `${name} ${((ms * 1000) / requests).toFixed(0)} µs`).join(', ')}` +
      ` (metrics cost ${(100 * (cpu.get('gateway')!.ms / cpu.get('gateway')!.requests / (cpu.get('no metrics')!.ms / cpu.get('no metrics')!.requests) - 1)).toFixed(1)}% CPU per request)\n` +
      `authorization freshness check: gateway ${overall.get('gateway')!.rps.toFixed(0)} req/s with it, ${overall.get('no freshness')!.rps.toFixed(0)} without ` +
      `(${((1 - overall.get('gateway')!.rps / overall.get('no freshness')!.rps) * 100).toFixed(1)}% of throughput); ` +
      `alone: ${freshnessCost.hitNs.toFixed(0)} ns per cached answer, ${freshnessCost.missUs.toFixed(0)} µs per Redis round trip (once per user per second)\n` +
      (collector
        ? `tracing on (100% sampled, OTLP to a no-op collector) / off: throughput ${(ratioOf('gateway+otel') / ratio).toFixed(2)}, ` +
          `p99 ${overall.get('gateway+otel')!.p99} vs ${overall.get('gateway')!.p99} ms; ` +
          `the collector received ${collector.received().requests} exports, ${(collector.received().bytes / 1e6).toFixed(1)} MB\n`
        : 'tracing on: skipped (BENCH_TRACING=off)\n') +
      `p99 ${targets.map(({ name }) => name).join(' / ')}: ${targets.map(({ name }) => overall.get(name)!.p99).join(' / ')} ms\n`,
  );
}

try {
  await main();
} finally {
  await cleanUp();
}
