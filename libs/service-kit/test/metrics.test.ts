import { request } from 'node:http';
import t from 'tap';
import { loadConfig, metricsConfigSchema, serveMetrics, UNMATCHED_ROUTE } from '../src/index';
import { addHeldRoute, buildKitApp, eventually, type Teardown } from './helper';

/**
 * A scrape over a real socket, read just enough for these tests (@shop/testing's scrapeMetrics
 * does it properly, but the kit cannot depend on it: testing depends on the kit).
 */
async function scrapeMetrics(url: string) {
  const response = await fetch(url);
  if (response.status !== 200 || !response.headers.get('content-type')?.startsWith('text/plain')) throw new Error(`${url}: ${response.status}`);
  const samples = (await response.text())
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [, name, labels = '', value] = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line)!;
      return { name: name!, labels: Object.fromEntries([...labels.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, text]) => [key!, text!])), value: Number(value) };
    });
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  return {
    find,
    value: (name: string, labels: Record<string, string> = {}) => {
      const found = find(name, labels);
      return found.length === 0 ? undefined : found.reduce((sum, sample) => sum + sample.value, 0);
    },
  };
}

const WIDGET = '3f1c1a2e-9d4b-4b8e-8f5e-0c2a1d7b6e11';

async function served(t: Teardown, app: Awaited<ReturnType<typeof buildKitApp>>['app']) {
  await app.ready();
  const server = await serveMetrics(app, { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  return server;
}

t.test('per-route series are labelled by route template and status class, never by raw URL', async (t) => {
  const { app } = await buildKitApp(t);
  const server = await served(t, app);
  await app.inject({ method: 'GET', url: `/widgets/${WIDGET}` });
  await app.inject({ method: 'GET', url: '/widgets/not-a-uuid' });
  await app.inject({ method: 'GET', url: '/boom' });
  for (let index = 0; index < 3; index += 1) await app.inject({ method: 'GET', url: `/no/such/path/${index}` });

  const scrape = await scrapeMetrics(server.url);
  const count = (labels: Record<string, string>) => scrape.value('http_request_duration_seconds_count', { service: 'kit-test', ...labels });
  t.equal(count({ method: 'GET', route: '/widgets/:id', status_class: '2xx' }), 1);
  t.equal(count({ method: 'GET', route: '/widgets/:id', status_class: '4xx' }), 1);
  t.equal(count({ method: 'GET', route: '/boom', status_class: '5xx' }), 1);
  t.equal(count({ method: 'GET', route: UNMATCHED_ROUTE, status_class: '4xx' }), 3, 'unknown paths share one bounded label');
  const routes = new Set(scrape.find('http_request_duration_seconds_count').map((sample) => sample.labels.route));
  t.notOk([...routes].some((route) => route?.includes(WIDGET) || route?.includes('/no/such')), 'no raw URL became a label');
  t.equal(scrape.value('http_requests_in_flight', { route: '/widgets/:id' }), 0, 'answered requests leave the in-flight gauge');
  t.ok(scrape.value('nodejs_eventloop_lag_seconds', { service: 'kit-test' }) !== undefined, 'event-loop lag');
  t.ok(scrape.value('nodejs_heap_size_used_bytes') !== undefined, 'heap');
  t.ok(scrape.value('process_cpu_seconds_total') !== undefined, 'process CPU');
});

t.test('a request in flight is counted, and leaves the gauge when its client goes away', async (t) => {
  const { app } = await buildKitApp(t);
  // Held until its client is gone, however slowly this machine runs the scrapes.
  const clientGone = addHeldRoute(t, app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const server = await served(t, app);
  const { port } = app.server.address() as { port: number };
  const held = request({ host: '127.0.0.1', port, path: '/held' });
  held.on('error', () => undefined);
  held.end();
  const inFlight = () => scrapeMetrics(server.url).then((scrape) => scrape.value('http_requests_in_flight', { method: 'GET', route: '/held' }));
  await eventually(async () => (await inFlight()) === 1);
  t.equal(await inFlight(), 1, 'the held request is in flight');
  held.destroy();
  await eventually(async () => (await inFlight()) === 0);
  t.equal(await inFlight(), 0, 'an aborted request is not in flight forever');
  clientGone();
});

t.test('the management port serves only /metrics; the public port has no /metrics', async (t) => {
  const { app } = await buildKitApp(t);
  const server = await served(t, app);
  const other = await fetch(server.url.replace('/metrics', '/health'));
  t.equal(other.status, 404);
  const post = await fetch(server.url, { method: 'POST' });
  t.equal(post.status, 404);
  const publicPort = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(publicPort.statusCode, 404, 'never on the service port');
});

t.test('required dependencies fail readiness; optional ones are reported as degraded and as a series', async (t) => {
  const { app } = await buildKitApp(t);
  app.addReadinessCheck('database', async () => 'SELECT 1');
  app.addReadinessCheck('redis', () => Promise.reject(new Error('ECONNREFUSED')), { required: false });
  const server = await served(t, app);

  const degraded = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(degraded.statusCode, 200, 'an optional dependency down keeps the instance in rotation');
  t.same(degraded.json(), { status: 'ready', checks: { database: 'ok', redis: 'degraded' } });
  const scrape = await scrapeMetrics(server.url);
  t.equal(scrape.value('service_dependency_up', { dependency: 'redis', required: 'false' }), 0);
  t.equal(scrape.value('service_dependency_up', { dependency: 'database', required: 'true' }), 1);
});

t.test('a failing required dependency is a 503 and reads 0', async (t) => {
  const { app } = await buildKitApp(t);
  app.addReadinessCheck('database', () => Promise.reject(new Error('down')));
  const server = await served(t, app);
  t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 503);
  t.equal((await scrapeMetrics(server.url)).value('service_dependency_up', { dependency: 'database' }), 0);
});

t.test('METRICS_* variables: defaults per service, validated', async (t) => {
  t.same(loadConfig(metricsConfigSchema(9102), {}), { METRICS_ENABLED: true, METRICS_HOST: '0.0.0.0', METRICS_PORT: 9102 });
  t.same(loadConfig(metricsConfigSchema(9102), { METRICS_PORT: '19102', METRICS_ENABLED: 'false' }).METRICS_PORT, 19102);
  t.throws(() => loadConfig(metricsConfigSchema(9102), { METRICS_PORT: '70000' }), /METRICS_PORT/);
});
