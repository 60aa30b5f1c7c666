import { serveMetrics } from '@shop/service-kit';
import { scrapeMetrics } from '@shop/testing';
import t from 'tap';
import { ADMIN, bearer, build, login, register, tokensFor } from '../helper';

t.test('the management port shows logins, throttles, API-key exchanges and per-route series moving', async (t) => {
  const { app } = await build(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS: '2', LOGIN_MAX_FAILURES_PER_ADDRESS: '50' });
  const server = await serveMetrics(app, { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  const before = await scrapeMetrics(server.url);
  t.equal(before.value('auth_login_failures_total', { service: 'auth' }), 0, 'the series exist before anything happened');
  t.equal(before.value('service_dependency_up', { dependency: 'database', required: 'true' }), 1);
  t.equal(before.value('service_dependency_up', { dependency: 'redis', required: 'false' }), 1);

  await register(app, 'mia@example.test', 'mia password 1');
  await login(app, 'mia@example.test', 'wrong');
  await login(app, 'mia@example.test', 'wrong');
  t.equal((await login(app, 'mia@example.test', 'mia password 1')).statusCode, 429);
  const admin = await tokensFor(app, ADMIN.email, ADMIN.password);
  const created = await app.inject({ method: 'POST', url: '/v1/auth/api-keys', payload: { name: 'sync', scopes: [] }, headers: bearer(admin.accessToken) });
  const exchange = (key: string) => app.inject({ method: 'POST', url: '/internal/v1/api-keys/exchange', headers: { 'x-api-key': key } });
  t.equal((await exchange(created.json().key)).statusCode, 200);
  t.equal((await exchange('sk_unknown')).statusCode, 401);

  const after = await scrapeMetrics(server.url);
  t.equal(after.value('auth_login_failures_total'), 2);
  t.equal(after.value('auth_login_throttles_total', { scope: 'account_address' }), 1);
  t.equal(after.value('auth_api_key_exchanges_total', { result: 'issued' }), 1);
  t.equal(after.value('auth_api_key_exchanges_total', { result: 'refused' }), 1);
  t.equal(after.value('http_request_duration_seconds_count', { route: '/v1/auth/login', method: 'POST', status_class: '4xx' }), 3);
  t.notMatch(JSON.stringify(after.samples), /mia@example|sk_/, 'no email and no key in any label');
});

t.test('Redis down: auth stays ready and reports Redis as a degraded dependency', async (t) => {
  const { app } = await build(t, { REDIS_URL: 'redis://127.0.0.1:1' });
  const server = await serveMetrics(app, { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200);
  const scrape = await scrapeMetrics(server.url);
  t.equal(scrape.value('service_dependency_up', { dependency: 'redis' }), 0);
  t.equal(scrape.value('service_dependency_up', { dependency: 'database' }), 1);
});
