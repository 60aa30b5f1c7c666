import t from 'tap';
import { replayStream } from '../src/index';
import { allAppliedOnce, createHarness, placeOrders, streamEventIds, unpublishedCount, waitFor } from './helper';

t.test('a relay stopped midway leaves the rest to the next, and nothing is applied twice', async (t) => {
  const harness = await createHarness(t, 'events-relay-midway');
  harness.consumer().start();
  const ids = await placeOrders(harness.dataSource, 30);
  // Hold the last ten rows, as a relay busy with them would: the first relay can publish only twenty.
  const blocker = harness.dataSource.createQueryRunner();
  await blocker.connect();
  await blocker.startTransaction();
  await blocker.query(`SELECT position FROM outbox WHERE event_id = ANY($1) FOR UPDATE`, [ids.slice(20)]);
  const first = harness.relay({ batchSize: 5 });
  first.start();
  await waitFor('twenty published', async () => (await unpublishedCount(harness.dataSource)) === 10);
  await first.stop();
  await blocker.rollbackTransaction();
  await blocker.release();
  t.same(await streamEventIds(harness.redis, harness.stream), ids.slice(0, 20), 'the first relay published the first twenty, in order');

  harness.relay({ batchSize: 5 }).start();
  await waitFor('all applied', () => allAppliedOnce(harness.dataSource, ids));
  t.same(await streamEventIds(harness.redis, harness.stream), ids, 'the second published the other ten, each once');
  t.equal(await unpublishedCount(harness.dataSource), 0);
});

t.test('two relays on one outbox: every event published once, in order, and applied once', async (t) => {
  const harness = await createHarness(t, 'events-relay-concurrent');
  harness.consumer({ consumerName: 'a' }).start();
  harness.consumer({ consumerName: 'b' }).start();
  harness.relay({ batchSize: 3, pollIntervalMs: 10 }).start();
  harness.relay({ batchSize: 3, pollIntervalMs: 10 }).start();
  // Producers write while both relays run.
  const batches = await Promise.all([placeOrders(harness.dataSource, 40), placeOrders(harness.dataSource, 40), placeOrders(harness.dataSource, 40)]);
  const ids = batches.flat();
  await waitFor('all applied', () => allAppliedOnce(harness.dataSource, ids));
  const onStream = await streamEventIds(harness.redis, harness.stream);
  t.equal(onStream.length, 120, 'no event published twice');
  t.same(new Set(onStream), new Set(ids));
  // Concurrent transactions may commit out of position order, but each producer's own sequence stays in order.
  for (const batch of batches) {
    const members = new Set(batch);
    t.same(onStream.filter((id) => members.has(id)), batch, 'a producer\'s events are on the stream in the order it committed them');
  }
});

t.test('Redis holding less than the outbox published (an old snapshot) triggers a replay', async (t) => {
  const harness = await createHarness(t, 'events-relay-snapshot');
  const ids = await placeOrders(harness.dataSource, 5);
  const relay = harness.relay();
  relay.start();
  await waitFor('published', async () => (await harness.redis.xlen(harness.stream)) === 5);
  const marker = await harness.redis.get('events:relay:orders:published-up-to');
  t.match(marker, /^\d+$/);
  // A Redis restored from a snapshot taken after the second event: the marker and the stream agree, and are behind.
  await relay.stop();
  const entries = await harness.redis.xrange(harness.stream, '-', '+');
  await harness.redis.xdel(harness.stream, ...entries.slice(2).map(([id]) => id));
  await harness.redis.set('events:relay:orders:published-up-to', String(Number(marker) - 3));
  t.equal(await harness.redis.xlen(harness.stream), 2);

  harness.relay().start();
  await waitFor('the replay finished', () => harness.logger.lines.some((line) => line.message === 'outbox replay done'));
  // No consumer group ever acknowledged anything: the whole window may have been lost.
  t.same(await streamEventIds(harness.redis, replayStream(harness.stream)), ids, 'the replay window published everything again, in order, on the replay stream');
  t.equal(await harness.redis.xlen(harness.stream), 2, 'the live stream is left alone');
  t.equal(await harness.redis.get('events:relay:orders:published-up-to'), marker, 'the marker is back in step');
});

t.test('events older than the replay window are not replayed', async (t) => {
  const harness = await createHarness(t, 'events-relay-window');
  const [old] = await placeOrders(harness.dataSource, 1);
  const relay = harness.relay({ replayWindowMs: 60_000 });
  relay.start();
  await waitFor('published', async () => (await unpublishedCount(harness.dataSource)) === 0);
  await relay.stop();
  await harness.dataSource.query(`UPDATE outbox SET published_at = now() - interval '2 minutes' WHERE event_id = $1`, [old]);
  const [recent] = await placeOrders(harness.dataSource, 1);
  await harness.redis.del(harness.stream, 'events:relay:orders:published-up-to');
  harness.relay({ replayWindowMs: 60_000 }).start();
  await waitFor('the loss looked at', () => harness.logger.lines.some((line) => line.message === 'redis marker set; nothing unacknowledged to replay'));
  await waitFor('the recent event', async () => (await streamEventIds(harness.redis, harness.stream)).includes(recent!));
  t.same(await streamEventIds(harness.redis, harness.stream), [recent], 'the recent one is published as new');
  t.equal(await harness.redis.xlen(replayStream(harness.stream)), 0, 'the old one stayed out of the replay');
});

t.test('published rows older than the retention are pruned; unpublished and recent ones stay', async (t) => {
  const harness = await createHarness(t, 'events-relay-prune');
  const [old, recent] = await placeOrders(harness.dataSource, 2);
  await harness.dataSource.query(`UPDATE outbox SET published_at = now() - interval '2 minutes' WHERE event_id = $1`, [old]);
  harness.relay({ replayWindowMs: 60_000, retainPublishedMs: 60_000 }).start();
  const remaining = async () => (await harness.dataSource.query(`SELECT event_id FROM outbox`)).map((row: { event_id: string }) => row.event_id);
  await waitFor('the old row pruned', async () => !(await remaining()).includes(old));
  await waitFor('the recent one published', async () => (await unpublishedCount(harness.dataSource)) === 0);
  t.same(await remaining(), [recent]);
  t.throws(() => harness.relay({ replayWindowMs: 60_000, retainPublishedMs: 1_000 }), /retainPublishedMs/);
});
