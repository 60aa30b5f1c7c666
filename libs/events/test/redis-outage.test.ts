import t from 'tap';
import { allAppliedOnce, createHarness, effectCounts, placeOrders, startPrivateRedis, unpublishedCount, waitFor } from './helper';

// These tests stop, restart and flush a redis-server of their own, never the shared one.

t.test('Redis down: events wait in the outbox, and all get through once it is back, even empty', async (t) => {
  const redisServer = await startPrivateRedis(t);
  const harness = await createHarness(t, 'events-outage-down', { redisUrl: redisServer.url });
  harness.relay().start();
  harness.consumer().start();
  const before = await placeOrders(harness.dataSource, 10);
  await waitFor('the first ten applied', () => allAppliedOnce(harness.dataSource, before));

  await redisServer.stop();
  const during = await placeOrders(harness.dataSource, 10);
  await waitFor('the relay to notice', () => harness.logger.lines.some((line) => line.message === 'outbox relay could not publish; retrying'));
  await waitFor('the consumer to notice', () => harness.logger.lines.some((line) => line.message === 'stream consumer failed; retrying'));
  t.equal(await unpublishedCount(harness.dataSource), 10, 'the new events wait in the outbox');

  // Back, but empty: no streams, no consumer group, no marker.
  await redisServer.start();
  await waitFor('every event applied', () => allAppliedOnce(harness.dataSource, [...before, ...during]), 20_000);
  t.equal(await unpublishedCount(harness.dataSource), 0, 'all published');
  const counts = await effectCounts(harness.dataSource);
  t.equal(counts.size, 20);
  t.ok([...counts.values()].every((count) => count === 1), 'nothing applied twice, though the first ten were replayed');
  t.ok(harness.logger.lines.some((line) => line.message === 'outbox replay done'), 'the relay replayed');
  t.ok(harness.logger.lines.some((line) => /consumer group missing/.test(line.message ?? '')), 'the consumer recreated its group');
  // No busy loop while Redis was away: retries back off.
  const retries = harness.logger.lines.filter((line) => line.message === 'outbox relay could not publish; retrying' || line.message === 'stream consumer failed; retrying');
  t.ok(retries.length < 200, `backed off (${retries.length} retries)`);
});

t.test('Redis flushed after publishing: the replay gets lost events through, consumers skip duplicates', async (t) => {
  const redisServer = await startPrivateRedis(t);
  const harness = await createHarness(t, 'events-outage-flush', { redisUrl: redisServer.url });
  harness.relay().start();
  const consumer = harness.consumer({ consumerName: 'one' });
  consumer.start();
  const consumed = await placeOrders(harness.dataSource, 10);
  await waitFor('the first ten applied', () => allAppliedOnce(harness.dataSource, consumed));
  await consumer.stop();

  // Published and marked published, never consumed: only Redis has them, until the flush.
  const unconsumed = await placeOrders(harness.dataSource, 10);
  await waitFor('published', async () => (await unpublishedCount(harness.dataSource)) === 0);
  await harness.redis.flushall();

  harness.consumer({ consumerName: 'two' }).start();
  await waitFor('every event applied', () => allAppliedOnce(harness.dataSource, [...consumed, ...unconsumed]), 20_000);
  const counts = await effectCounts(harness.dataSource);
  t.equal(counts.size, 20);
  t.ok([...counts.values()].every((count) => count === 1), 'nothing applied twice');
  await waitFor('the duplicates skipped', () => harness.logger.lines.filter((line) => line.message === 'event already applied; skipped').length >= 10);
});

t.test('a relay pointed at a Redis that is not there retries without end and without spinning', async (t) => {
  const redisServer = await startPrivateRedis(t);
  await redisServer.stop();
  const harness = await createHarness(t, 'events-outage-never', { redisUrl: redisServer.url });
  const relay = harness.relay({ maxBackoffMs: 200 });
  relay.start();
  await placeOrders(harness.dataSource, 3);
  await waitFor('a few failed attempts', () => harness.logger.lines.filter((line) => /could not publish/.test(line.message ?? '')).length >= 3);
  await relay.stop();
  t.equal(await unpublishedCount(harness.dataSource), 3, 'nothing marked published');
});
