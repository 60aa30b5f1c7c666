import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@shop/testing';
import { request } from 'undici';
import t from 'tap';
import { bearer, buildGateway, closedPortUrl, problemOf, startFakeUpstream } from '../helper';

t.test('health and readiness', async (t) => {
  let catalogReady = true;
  const auth = await startFakeUpstream(t, 'auth');
  const catalog = await startFakeUpstream(t, 'catalog', (app) => {
    app.addReadinessCheck('database', async () => {
      if (!catalogReady) throw new Error('down');
    });
  });
  const orders = await startFakeUpstream(t, 'orders');
  const recommendations = await startFakeUpstream(t, 'recommendations');
  const { app } = await buildGateway(t, { auth: auth.url, catalog: catalog.url, orders: orders.url, recommendations: recommendations.url });

  t.test('ready when every upstream says it is ready', async (t) => {
    const response = await app.inject({ method: 'GET', url: '/health/ready' });
    t.equal(response.statusCode, 200);
    t.same(response.json(), { status: 'ready', checks: { redis: 'ok', auth: 'ok', catalog: 'ok', orders: 'ok', recommendations: 'ok' } });
  });

  t.test("503 naming the upstream that is not ready (its own readiness is asked)", async (t) => {
    catalogReady = false;
    const response = await app.inject({ method: 'GET', url: '/health/ready' });
    t.equal(response.statusCode, 503);
    t.equal(problemOf(response).detail, 'Not ready: catalog');
    catalogReady = true;
  });

  t.test('alive whatever the upstreams do', async (t) => {
    const { app: alone } = await buildGateway(t, { orders: await closedPortUrl() });
    t.equal((await alone.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    const ready = await alone.inject({ method: 'GET', url: '/health/ready' });
    t.equal(ready.statusCode, 503);
    t.equal(problemOf(ready).detail, 'Not ready: auth, catalog, orders, recommendations');
  });
});

t.test('one access-log line per proxied request, with status and upstream latency', async (t) => {
  const catalog = await startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products/:id', async () => {
      await sleep(20);
      return { id: 'p' };
    });
  });
  const logs: Record<string, unknown>[] = [];
  const { app, issuer } = await buildGateway(t, { catalog: catalog.url, logs });
  const token = await issuer.tokenFor({ userId: '5f0c7d44-9e4c-4b8e-8f38-2b5a8cf1a001' });
  const response = await app.inject({
    method: 'GET',
    url: '/v1/products/p?token=secret-in-url',
    headers: { ...bearer(token), 'x-request-id': 'log-me', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
  });
  t.equal(response.statusCode, 200);
  const lines = logs.filter((line) => line.requestId === 'log-me' || line.reqId === 'log-me');
  t.equal(lines.length, 1, JSON.stringify(lines));
  t.match(lines[0], {
    msg: 'request completed',
    statusCode: 200,
    method: 'GET',
    url: '/v1/products/p?token=[redacted]',
    route: '/v1/products/:id',
    upstream: 'catalog',
    attempts: 1,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    principal: '5f0c7d44-9e4c-4b8e-8f38-2b5a8cf1a001',
  });
  t.ok((lines[0]!.upstreamMs as number) >= 20, 'upstream latency');
  t.ok((lines[0]!.responseTimeMs as number) >= (lines[0]!.upstreamMs as number), 'total time includes it');
  t.notMatch(JSON.stringify(logs), token, 'the token is in no log line');
});

t.test('graceful shutdown: requests in flight finish, new ones are refused', async (t) => {
  // The upstream tells when the proxied request has reached it (so the gateway is in the middle of
  // it), and answers only once the gateway has stopped listening: a fixed head start could let a
  // slow machine close the gateway before the request was read, or finish it before the close.
  let entered!: () => void;
  const arrived = new Promise<void>((resolve) => (entered = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  t.teardown(() => release());
  const catalog = await startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products', async () => {
      entered();
      await released;
      return { items: [], nextCursor: null };
    });
  });
  const { app } = await buildGateway(t, { catalog: catalog.url });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const inFlight = request(`${base}/v1/products`);
  await arrived;
  const closing = app.close();
  await waitFor('the gateway to stop listening', () => !app.server.listening);
  release();
  const response = await inFlight;
  t.equal(response.statusCode, 200, 'the request in flight got its answer');
  t.same(await response.body.json(), { items: [], nextCursor: null });
  await closing;
  await t.rejects(request(`${base}/health`), 'no longer listening');
});
