import { randomUUID } from 'node:crypto';
import { serveMetrics } from '@shop/service-kit';
import { probeUntil, scrapeMetrics, type MetricsScrape } from '@shop/testing';
import t from 'tap';
import { bearer, build, fakeCatalog } from '../helper';

t.test('placing orders moves the saga series: by status, oldest pending, saga duration, outbox and consumer', async (t) => {
  const { app, env, tokens } = await build(t);
  const server = await serveMetrics(app, { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  const catalog = await fakeCatalog(t, env.REDIS_KEY_PREFIX);
  const token = await tokens.tokenFor({ userId: randomUUID() });
  const place = () =>
    app.inject({ method: 'POST', url: '/v1/orders', payload: { items: [{ productId: randomUUID(), quantity: 1 }] }, headers: bearer(token) });
  const scrape = () => scrapeMetrics(server.url);
  const until = (check: (now: MetricsScrape) => boolean) => probeUntil(scrape, check);

  const idle = await scrape();
  t.equal(idle.value('orders_by_status', { status: 'pending' }), 0, 'every status is a series, at 0 when none');
  t.equal(idle.value('orders_oldest_pending_age_seconds'), 0);
  t.equal(idle.value('orders_saga_duration_seconds_count'), undefined, 'no saga ended yet');

  const first = (await place()).json();
  const second = (await place()).json();
  const third = (await place()).json();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const pending = await scrape();
  t.equal(pending.value('orders_by_status', { status: 'pending' }), 3);
  t.ok(pending.value('orders_oldest_pending_age_seconds')! >= 0.05, 'the oldest pending order is ageing');
  t.equal(pending.value('http_request_duration_seconds_count', { service: 'orders', method: 'POST', route: '/v1/orders', status_class: '2xx' }), 3);

  await catalog.reserved({ orderId: first.id, currency: 'USD', items: [{ productId: first.items[0].productId, sku: 'S', name: 'N', quantity: 1, unitPriceCents: 100 }] });
  await catalog.rejected({ orderId: second.id, reason: 'out_of_stock', productIds: [second.items[0].productId] });
  await app.inject({ method: 'POST', url: `/v1/orders/${third.id}/cancel`, headers: bearer(token) });
  // Each series moves at its own moment (the consumer acknowledges after its commit, the relay counts
  // before its own): wait for all that is asserted, so that no assertion races another's update.
  const settled = await until(
    (now) =>
      now.value('orders_saga_duration_seconds_count') === 3 &&
      now.value('events_applied_total', { group: 'orders', type: 'stock.reserved.v1' }) === 1 &&
      now.value('events_consumer_pending', { stream: 'events:catalog', group: 'orders' }) === 0,
  );
  t.equal(settled.value('orders_saga_duration_seconds_count', { outcome: 'confirmed' }), 1);
  t.equal(settled.value('orders_saga_duration_seconds_count', { outcome: 'rejected' }), 1);
  t.equal(settled.value('orders_saga_duration_seconds_count', { outcome: 'cancelled' }), 1);
  t.ok(settled.value('orders_saga_duration_seconds_sum')! > 0);
  t.equal(settled.value('orders_by_status', { status: 'pending' }), 0);
  t.equal(settled.value('orders_by_status', { status: 'confirmed' }), 1);
  t.equal(settled.value('orders_oldest_pending_age_seconds'), 0, 'nothing pending any more');
  t.equal(settled.value('events_applied_total', { group: 'orders', type: 'stock.reserved.v1' }), 1);
  t.equal(settled.value('events_consumer_pending', { stream: 'events:catalog', group: 'orders' }), 0);
  const published = await until((now) => now.value('events_relay_published_total', { producer: 'orders' }) === 5 && now.value('events_outbox_backlog', { producer: 'orders' }) === 0);
  t.equal(published.value('events_relay_published_total', { producer: 'orders' }), 5, 'three placements, a confirmation and a cancel published');
  t.equal(published.value('events_outbox_backlog', { producer: 'orders' }), 0, 'and none left in the outbox');
  t.notMatch(JSON.stringify(published.samples), new RegExp(`${first.id}|${second.id}`), 'no order id in any label');

  // A late answer for a settled order changes nothing, and ends no saga twice.
  await catalog.reserved({ orderId: second.id, currency: 'USD', items: [{ productId: second.items[0].productId, sku: 'S', name: 'N', quantity: 1, unitPriceCents: 100 }] });
  const late = await until((now) => now.value('events_applied_total', { group: 'orders', type: 'stock.reserved.v1' }) === 2);
  t.equal(late.value('orders_saga_duration_seconds_count'), 3);
});

t.test('Redis down: orders are still accepted into the outbox, the instance stays ready, the backlog shows', async (t) => {
  const { app, tokens } = await build(t, { REDIS_URL: 'redis://127.0.0.1:1' });
  const server = await serveMetrics(app, { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  const token = await tokens.tokenFor({ userId: randomUUID() });
  const placed = await app.inject({ method: 'POST', url: '/v1/orders', payload: { items: [{ productId: randomUUID(), quantity: 1 }] }, headers: bearer(token) });
  t.equal(placed.statusCode, 201);
  const ready = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready', checks: { database: 'ok', redis: 'degraded' } });
  const scrape = await scrapeMetrics(server.url);
  t.equal(scrape.value('events_outbox_backlog', { producer: 'orders' }), 1, 'the order waits in the outbox');
  t.equal(scrape.value('service_dependency_up', { dependency: 'redis' }), 0);
  t.equal(scrape.value('orders_by_status', { status: 'pending' }), 1);
});
