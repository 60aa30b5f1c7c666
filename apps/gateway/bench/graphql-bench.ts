/**
 * GraphQL's overhead: autocannon against `product(id)` through POST /graphql and against
 * GET /v1/products/{id}, both through the same gateway process, alternating over BENCH_ROUNDS
 * rounds (2) so that the machine's drift weighs on both alike. Prints throughput and p99 of each,
 * the ratio GraphQL/REST beside its target (0.8) and the load average. A script that prints
 * figures, not a test: nothing is asserted. Beside throughput it prints the gateway's CPU time per
 * request for each (read from /proc), which another process's burst on the machine blurs much less.
 *
 *   npx nx run gateway:bench-graphql
 *
 * The upstream is the real catalog (a child process on a fresh database, one product) when it
 * starts, otherwise the Fastify stand-in (bench/catalog-stand-in.ts); BENCH_UPSTREAM=stand-in
 * picks the stand-in. BENCH_SECONDS (5 per run) and BENCH_CONNECTIONS (32) set the load. Both
 * requests carry the same valid token, so the catalog does the same work for each.
 * BENCH_PROFILE_DIR writes a V8 CPU profile of the gateway there.
 */
import { createServer as createHttpServer } from 'node:http';
import { loadavg } from 'node:os';
import { createTestRedisPrefix, createTestTokenIssuer, TEST_REDIS_URL } from '@shop/testing';
import autocannon from 'autocannon';
import { cleanUp, cleanups, freePort, processCpuMs, start, startRealCatalog, startStandInCatalog, waitForHealth } from './bench-processes';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TARGET = 0.8;

async function startCatalog(jwksUrl: string, adminToken: string): Promise<{ url: string; productId: string; kind: string }> {
  if (process.env.BENCH_UPSTREAM !== 'stand-in') {
    try {
      return { ...(await startRealCatalog(jwksUrl, adminToken)), kind: 'the real catalog' };
    } catch (error) {
      process.stderr.write(`real catalog unavailable (${(error as Error).message}); using the stand-in\n`);
    }
  }
  return { ...(await startStandInCatalog()), kind: 'the catalog stand-in' };
}

/** A run's throughput and p99, and the gateway's CPU time per request: a figure a busy machine blurs much less. */
async function load(request: { url: string; method?: 'GET' | 'POST'; headers: Record<string, string>; body?: string }, gatewayPid: number) {
  const cpuBefore = processCpuMs(gatewayPid);
  const result = await autocannon({ ...request, connections: CONNECTIONS, pipelining: 1, duration: SECONDS });
  const cpuUsPerRequest = ((processCpuMs(gatewayPid) - cpuBefore) * 1000) / Math.max(1, result.requests.total);
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx + result.errors + result.timeouts, cpuUsPerRequest };
}

async function main() {
  const issuer = await createTestTokenIssuer();
  const adminToken = await issuer.tokenFor({ role: 'admin', ttlSeconds: 900 });
  const readerToken = await issuer.tokenFor({ role: 'customer', ttlSeconds: 900 });
  const jwks = createHttpServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks)));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => jwks.close(resolve)));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/.well-known/jwks.json`;

  const catalog = await startCatalog(jwksUrl, adminToken);
  const redis = createTestRedisPrefix('bench_graphql_gateway');
  cleanups.push(() => redis.clear());
  const port = await freePort();
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const gateway = start('gateway', 'apps/gateway/src/main.ts', {
    HOST: '127.0.0.1',
    PORT: String(port),
    METRICS_ENABLED: 'false',
    LOG_LEVEL: process.env.BENCH_GATEWAY_LOG_LEVEL ?? 'info',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: redis.prefix,
    CATALOG_URL: catalog.url,
    AUTH_URL: 'http://127.0.0.1:9',
    ORDERS_URL: 'http://127.0.0.1:9',
    RECOMMENDATIONS_URL: 'http://127.0.0.1:9',
    AUTH_JWKS_URL: jwksUrl,
    RATE_LIMIT_MAX: '1000000000',
    RATE_LIMIT_ANONYMOUS_MAX: '1000000000',
  }, { profile: true });
  await waitForHealth(gatewayUrl, gateway);

  const headers = { authorization: `Bearer ${readerToken}` };
  const query = JSON.stringify({ query: 'query ($id: ID!) { product(id: $id) { id sku name description priceCents currency categoryId tags stock createdAt updatedAt version } }', variables: { id: catalog.productId } });
  const rest = { url: `${gatewayUrl}/v1/products/${catalog.productId}`, headers };
  const graphql = { url: `${gatewayUrl}/graphql`, method: 'POST' as const, headers: { ...headers, 'content-type': 'application/json' }, body: query };
  const check = await fetch(graphql.url, { method: 'POST', headers: graphql.headers, body: graphql.body });
  const answer = await check.text();
  if (!answer.includes('BENCH-TEA-1')) throw new Error(`the GraphQL query does not answer the product: ${answer}`);

  // Warm-up: JIT, connection pools, the catalog's cache.
  await autocannon({ ...rest, connections: CONNECTIONS, duration: 2 });
  await autocannon({ ...graphql, connections: CONNECTIONS, duration: 2 });
  const runs = { rest: [] as Awaited<ReturnType<typeof load>>[], graphql: [] as Awaited<ReturnType<typeof load>>[] };
  for (let round = 0; round < ROUNDS; round += 1) {
    runs.rest.push(await load(rest, gateway.pid!));
    runs.graphql.push(await load(graphql, gateway.pid!));
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const restRps = mean(runs.rest.map((run) => run.rps));
  const graphqlRps = mean(runs.graphql.map((run) => run.rps));
  const ratio = graphqlRps / restRps;
  const restCpu = mean(runs.rest.map((run) => run.cpuUsPerRequest));
  const graphqlCpu = mean(runs.graphql.map((run) => run.cpuUsPerRequest));
  const [one, five] = loadavg();
  process.stdout.write(
    [
      `upstream: ${catalog.kind}; ${ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections`,
      `GET /v1/products/{id}     ${restRps.toFixed(0).padStart(7)} req/s  p99 ${mean(runs.rest.map((run) => run.p99)).toFixed(1)} ms  gateway CPU ${restCpu.toFixed(0)} µs/request  non-2xx ${runs.rest.reduce((sum, run) => sum + run.non2xx, 0)}`,
      `POST /graphql product(id) ${graphqlRps.toFixed(0).padStart(7)} req/s  p99 ${mean(runs.graphql.map((run) => run.p99)).toFixed(1)} ms  gateway CPU ${graphqlCpu.toFixed(0)} µs/request  non-2xx ${runs.graphql.reduce((sum, run) => sum + run.non2xx, 0)}`,
      `per round (GraphQL/REST): ${runs.rest.map((run, index) => (runs.graphql[index]!.rps / run.rps).toFixed(2)).join(', ')}`,
      `ratio GraphQL/REST: ${ratio.toFixed(2)} (target ≥ ${TARGET}: ${ratio >= TARGET ? 'met' : 'NOT met'}); load average ${one!.toFixed(2)} / ${five!.toFixed(2)} (1 / 5 min)`,
      `by the gateway's CPU per request (REST/GraphQL, what a gateway-bound run would reach): ${(restCpu / graphqlCpu).toFixed(2)}`,
      '',
    ].join('\n'),
  );
}

try {
  await main();
} finally {
  await cleanUp();
}
