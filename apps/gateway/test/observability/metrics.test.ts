import { randomUUID } from 'node:crypto';
import { serveMetrics } from '@shop/service-kit';
import { scrapeMetrics } from '@shop/testing';
import t from 'tap';
import { bearer, buildGateway, closedPortUrl, startFakeUpstream } from '../helper';

t.test('the management port shows routes, rate-limit rejections, API-key exchanges and breaker states', async (t) => {
  const auth = await startFakeUpstream(t, 'auth', (app) => {
    app.post('/internal/v1/api-keys/exchange', async (request, reply) =>
      request.headers['x-api-key'] === 'sk_good'
        ? { accessToken: 'not-verified-here', tokenType: 'Bearer', expiresIn: 60 }
        : reply.code(401).type('application/problem+json').send({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'AUTH_API_KEY_INVALID' }),
    );
    app.post('/v1/auth/login', async (_request, reply) => reply.code(401).send({ code: 'AUTH_INVALID_CREDENTIALS' }));
  });
  const catalog = await startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products/:id', async () => ({ id: 'x' }));
  });
  const { app, issuer } = await buildGateway(t, {
    auth: auth.url,
    catalog: catalog.url,
    orders: await closedPortUrl(),
    env: { RATE_LIMIT_ANONYMOUS_MAX: '3', RATE_LIMIT_LOGIN_MAX: '1', BREAKER_FAILURE_THRESHOLD: '2', BREAKER_RESET_MS: '60000', RETRY_MAX: '0' },
  });
  const server = await serveMetrics(app, { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());

  const before = await scrapeMetrics(server.url);
  t.equal(before.value('gateway_circuit_breaker_state', { upstream: 'orders', state: 'closed' }), 1);

  for (let index = 0; index < 4; index += 1) await app.inject({ method: 'GET', url: `/v1/products/${randomUUID()}`, remoteAddress: '198.51.100.1' });
  for (let index = 0; index < 2; index += 1) {
    await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'a@b.test', password: 'x' }, remoteAddress: '198.51.100.2' });
  }
  await app.inject({ method: 'GET', url: '/v1/orders', headers: { 'x-api-key': 'sk_good' }, remoteAddress: '198.51.100.3' });
  await app.inject({ method: 'GET', url: '/v1/orders', headers: { 'x-api-key': 'sk_good' }, remoteAddress: '198.51.100.3' });
  await app.inject({ method: 'GET', url: '/v1/orders', headers: { 'x-api-key': 'sk_bad' }, remoteAddress: '198.51.100.4' });
  // Orders is down: two failures open its breaker.
  const token = await issuer.tokenFor({});
  for (let index = 0; index < 3; index += 1) await app.inject({ method: 'GET', url: '/v1/orders', headers: bearer(token), remoteAddress: '198.51.100.5' });
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });

  const scrape = await scrapeMetrics(server.url);
  t.equal(scrape.value('http_request_duration_seconds_count', { service: 'gateway', method: 'GET', route: '/v1/products/:id', status_class: '2xx' }), 3);
  t.equal(scrape.value('gateway_rate_limit_rejections_total', { class: 'anonymous' }), 1);
  t.equal(scrape.value('gateway_rate_limit_rejections_total', { class: 'login' }), 1);
  t.equal(scrape.value('gateway_api_key_exchanges_total', { result: 'exchanged' }), 1);
  t.ok(scrape.value('gateway_api_key_exchanges_total', { result: 'cached' })! >= 1, 'the second use came from the cache');
  t.equal(scrape.value('gateway_api_key_exchanges_total', { result: 'refused' }), 1);
  t.equal(scrape.value('gateway_circuit_breaker_state', { upstream: 'orders', state: 'open' }), 1);
  t.equal(scrape.value('gateway_circuit_breaker_state', { upstream: 'orders', state: 'closed' }), 0);
  t.equal(scrape.value('gateway_circuit_breaker_state', { upstream: 'catalog', state: 'closed' }), 1);

  t.equal(metrics.statusCode, 404, '/metrics is not a public route of the gateway');
  t.equal(scrape.value('http_request_duration_seconds_count', { route: 'unmatched', status_class: '4xx' }), 1, 'and it is counted as unmatched');
  t.notMatch(JSON.stringify(scrape.samples), /sk_good|198\.51\.100/, 'no key and no address in any label');
});
