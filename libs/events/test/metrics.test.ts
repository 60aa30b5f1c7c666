import { MetricsScrape, parsePrometheusText } from '@shop/testing';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import t from 'tap';
import { EventMetrics, OutboxRelay, StreamConsumer } from '../src/index';
import { allAppliedOnce, createHarness, placeOrders, waitFor } from './helper';

async function scrape(registry: Registry): Promise<MetricsScrape> {
  return new MetricsScrape(parsePrometheusText(await registry.metrics()));
}

t.test('outbox backlog and age, relay counts, consumer lag, pending, applied and duplicates, dead letters', async (t) => {
  const harness = await createHarness(t, 'events-metrics');
  const registry = new Registry();
  const metrics = new EventMetrics(registry);
  const relay = harness.relay({ metrics });
  const consumer = harness.consumer({ metrics, consumerName: 'metered' });

  const ids = await placeOrders(harness.dataSource, 5);
  await new Promise((resolve) => setTimeout(resolve, 30));
  let now = await scrape(registry);
  t.equal(now.value('events_outbox_backlog', { producer: 'orders' }), 5, 'the backlog waits for the relay');
  t.ok(now.value('events_outbox_oldest_unpublished_age_seconds', { producer: 'orders' })! > 0, 'its oldest event is ageing');
  t.equal(now.value('events_consumer_lag', { group: 'catalog' }), undefined, 'no group yet: no lag series rather than a made-up 0');

  relay.start();
  // The counter moves just after the XADDs, before the transaction that marks the rows published
  // commits: until it does, the backlog still counts them. Both have moved, in one scrape.
  await waitFor('published', async () => {
    const published = await scrape(registry);
    return published.value('events_relay_published_total', { producer: 'orders' }) === 5 && published.value('events_outbox_backlog', { producer: 'orders' }) === 0;
  });
  // The group exists before the consumer reads (as when the consumer is stalled): the lag is the whole stream.
  await harness.redis.xgroup('CREATE', harness.prefix + harness.stream, 'catalog', '0', 'MKSTREAM');
  now = await scrape(registry);
  t.equal(now.value('events_outbox_backlog', { producer: 'orders' }), 0);
  t.equal(now.value('events_outbox_oldest_unpublished_age_seconds', { producer: 'orders' }), 0);
  t.equal(now.value('events_relay_published_total', { producer: 'orders' }), 5);
  t.equal(now.value('events_consumer_lag', { stream: 'events:orders', group: 'catalog' }), 5, 'a consumer that does not read lags by every entry');
  t.equal(now.value('events_consumer_pending', { stream: 'events:orders', group: 'catalog' }), 0);

  // An entry that can never be applied, and a duplicate of a good one.
  await harness.redis.xadd(harness.stream, '*', 'event', '{not json');
  const [, firstFields] = (await harness.redis.xrange(harness.stream, '-', '+', 'COUNT', 1))[0]!;
  await harness.redis.xadd(harness.stream, '*', ...firstFields);
  consumer.start();
  await waitFor('applied', () => allAppliedOnce(harness.dataSource, ids));
  await waitFor('all handled', async () => {
    const handled = await scrape(registry);
    return handled.value('events_consumer_lag', { group: 'catalog' }) === 0 && handled.value('events_deduplicated_total') === 1 && handled.value('events_dead_lettered_total') === 1;
  });
  now = await scrape(registry);
  t.equal(now.value('events_applied_total', { group: 'catalog', type: 'order.placed.v1' }), 5);
  t.equal(now.value('events_deduplicated_total', { group: 'catalog', type: 'order.placed.v1' }), 1);
  t.equal(now.value('events_dead_lettered_total', { group: 'catalog', reason: 'invalid_json' }), 1);
  t.equal(now.value('events_dead_letter_entries', { group: 'catalog' }), 1);
  t.equal(now.value('events_consumer_pending', { group: 'catalog' }), 0);
  const labels = now.samples.filter((sample) => sample.name.startsWith('events_')).flatMap((sample) => Object.values(sample.labels));
  t.notOk(labels.some((value) => ids.includes(value)), 'no event or order id is a label');
});

t.test('a relay that cannot reach Redis counts its failures; a scrape never fails for it', async (t) => {
  const harness = await createHarness(t, 'events-metrics-outage');
  const registry = new Registry();
  const metrics = new EventMetrics(registry);
  const unreachable = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 200 });
  unreachable.on('error', () => undefined);
  t.teardown(() => unreachable.disconnect());
  const relay = new OutboxRelay({ dataSource: harness.dataSource, redis: unreachable, name: 'orders', metrics, pollIntervalMs: 50, initialBackoffMs: 20, maxBackoffMs: 50 });
  harness.track(relay).start();
  // Only watched: the scrape asks this Redis for the group's lag.
  new StreamConsumer({ redis: unreachable, dataSource: harness.dataSource, group: 'catalog', streams: [harness.stream], handlers: {}, metrics });
  await placeOrders(harness.dataSource, 1);
  await waitFor('failures counted', async () => ((await scrape(registry)).value('events_relay_failures_total', { producer: 'orders' }) ?? 0) >= 2);
  const now = await scrape(registry);
  t.equal(now.value('events_outbox_backlog', { producer: 'orders' }), 1, 'the backlog still reads from the database');
  t.equal(now.value('events_consumer_lag'), undefined, 'an unreachable Redis leaves its series out');
});

t.test("the producer measures the groups reading its stream, so a consumer that is down still shows its lag", async (t) => {
  const harness = await createHarness(t, 'events-metrics-producer-side');
  const registry = new Registry();
  const relay = harness.relay({ metrics: new EventMetrics(registry) });
  await harness.redis.xgroup('CREATE', harness.prefix + harness.stream, 'catalog', '0', 'MKSTREAM');
  await placeOrders(harness.dataSource, 3);
  relay.start();
  await waitFor('published', async () => (await scrape(registry)).value('events_relay_published_total') === 3);
  const now = await scrape(registry);
  t.equal(now.value('events_consumer_lag', { stream: 'events:orders', group: 'catalog' }), 3, 'no consumer in this process, yet its lag shows');
  t.equal(now.value('events_consumer_pending', { stream: 'events:orders', group: 'catalog' }), 0);
  t.equal(now.value('events_dead_letter_entries'), undefined, 'dead letters are the consumer\'s to report');
});
