import { randomUUID } from 'node:crypto';
import { serveMetrics } from '@shop/service-kit';
import { eventually, scrapeMetrics } from '@shop/testing';
import t from 'tap';
import { build, createProduct, fakeOrders, productBody } from '../helper';

t.test('the management port shows cache results, reservations, releases and the saga consumer moving', async (t) => {
  const { app, env, admin } = await build(t);
  const server = await serveMetrics(app, { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  const orders = await fakeOrders(t, env.REDIS_KEY_PREFIX);
  const lamp = await createProduct(app, admin, { stock: 2 });
  await eventually(async () => (app.catalog.cache.active ? true : undefined));

  await app.inject({ method: 'GET', url: `/v1/products/${lamp.id}` });
  await app.inject({ method: 'GET', url: `/v1/products/${lamp.id}` });
  let scrape = await scrapeMetrics(server.url);
  t.equal(scrape.value('catalog_cache_lookups_total', { cache: 'product', result: 'miss' }), 1);
  t.equal(scrape.value('catalog_cache_lookups_total', { cache: 'product', result: 'hit' }), 1);
  t.equal(scrape.value('http_request_duration_seconds_count', { service: 'catalog', method: 'GET', route: '/v1/products/:id', status_class: '2xx' }), 2);

  const reserved = randomUUID();
  const refused = randomUUID();
  await orders.placed(reserved, [{ productId: lamp.id, quantity: 2 }]);
  await orders.placed(refused, [{ productId: lamp.id, quantity: 1 }]);
  await orders.cancelled(reserved);
  // The handlers count as they run, the consumer after its commit and its acknowledgement: wait for
  // the last of them, so that no assertion below races an update still on its way.
  scrape = await eventually(async () => {
    const now = await scrapeMetrics(server.url);
    const settled =
      now.value('catalog_stock_releases_total', { result: 'released' }) === 1 &&
      now.value('events_applied_total', { group: 'catalog', type: 'order.cancelled.v1' }) === 1 &&
      now.value('events_consumer_lag', { stream: 'events:orders', group: 'catalog' }) === 0;
    return settled ? now : undefined;
  });
  t.equal(scrape.value('catalog_stock_reservations_total', { outcome: 'reserved' }), 1);
  t.equal(scrape.value('catalog_stock_reservations_total', { outcome: 'out_of_stock' }), 1);
  t.equal(scrape.value('events_applied_total', { group: 'catalog', type: 'order.placed.v1' }), 2);
  t.equal(scrape.value('events_applied_total', { group: 'catalog', type: 'order.cancelled.v1' }), 1);
  t.equal(scrape.value('events_consumer_lag', { stream: 'events:orders', group: 'catalog' }), 0);
  t.equal(scrape.value('events_dead_letter_entries', { group: 'catalog' }), 0);
  t.ok(scrape.value('events_outbox_backlog', { producer: 'catalog' }) !== undefined, "the catalog's own outbox is watched");
  await eventually(async () => ((await scrapeMetrics(server.url)).value('events_relay_published_total', { producer: 'catalog' })! >= 4 ? true : undefined));
  t.notMatch(JSON.stringify(scrape.samples), new RegExp(`${reserved}|${lamp.id}`), 'no order or product id in any label');
});

t.test('Redis down: the catalog stays ready, serves reads from PostgreSQL, and counts them as cache bypasses', async (t) => {
  const { app } = await build(t, { REDIS_URL: 'redis://127.0.0.1:1' });
  const server = await serveMetrics(app, { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  // Written through the domain: without Redis an admin's rights cannot be confirmed, so the API refuses the write.
  const lamp = await app.catalog.createProduct(productBody());
  const ready = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(ready.statusCode, 200, 'reads need only the database');
  t.same(ready.json(), { status: 'ready', checks: { database: 'ok', redis: 'degraded' } });
  t.equal((await app.inject({ method: 'GET', url: `/v1/products/${lamp.id}` })).statusCode, 200);
  const scrape = await scrapeMetrics(server.url);
  t.equal(scrape.value('catalog_cache_lookups_total', { cache: 'product', result: 'bypass' }), 1);
  t.equal(scrape.value('service_dependency_up', { dependency: 'redis', required: 'false' }), 0);
});
