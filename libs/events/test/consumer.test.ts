import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import t from 'tap';
import { appendEvent, countDeadLetters, listDeadLetters, StreamConsumer, type Delivery } from '../src/index';
import { allAppliedOnce, createHarness, effectCounts, placeOrders, recordEffect, waitFor } from './helper';

async function pendingCount(redis: Redis, stream: string, group = 'catalog'): Promise<number> {
  const [count] = (await redis.xpending(stream, group)) as [number, ...unknown[]];
  return count;
}

function entry(envelope: object): string[] {
  return ['event', JSON.stringify(envelope)];
}

t.test('every event delivered twice is applied once', async (t) => {
  const harness = await createHarness(t, 'events-consumer-twice');
  const ids = await placeOrders(harness.dataSource, 20);
  const relay = harness.relay();
  relay.start();
  await waitFor('all published', async () => (await harness.redis.xlen(harness.stream)) === 20);
  await relay.stop();
  // Every entry a second time, as a relay that crashed between XADD and its commit would leave it.
  for (const [, fields] of await harness.redis.xrange(harness.stream, '-', '+')) await harness.redis.xadd(harness.stream, '*', ...fields);
  // Two consumers of the group, so duplicates also race each other.
  harness.consumer({ consumerName: 'one' }).start();
  harness.consumer({ consumerName: 'two' }).start();
  await waitFor('every entry acknowledged', async () => (await harness.redis.xinfo('GROUPS', harness.prefix + harness.stream) as unknown[][])
    .some((group) => group[group.indexOf('entries-read') + 1] === 40 && group[group.indexOf('pending') + 1] === 0));
  const counts = await effectCounts(harness.dataSource);
  t.equal(counts.size, 20, 'every event applied');
  t.ok(ids.every((id) => counts.get(id) === 1), 'none twice');
  const [{ count }] = await harness.dataSource.query(`SELECT count(*)::int AS count FROM processed_events WHERE consumer = 'catalog'`);
  t.equal(count, 20);
});

t.test('a read of many events is applied in one transaction; a handler failing there is dealt with alone and the rest commit', async (t) => {
  const harness = await createHarness(t, 'events-consumer-batch');
  await harness.dataSource.query(`CREATE TABLE applied_in (event_id uuid PRIMARY KEY, txid bigint NOT NULL)`);
  const ids = await placeOrders(harness.dataSource, 30);
  const relay = harness.relay();
  relay.start();
  await waitFor('all published', async () => (await harness.redis.xlen(harness.stream)) === 30);
  await relay.stop();
  const failing = ids[12]!;
  let failingCalls = 0;
  const record = recordEffect('catalog');
  const consumer = harness.consumer({
    claimIdleMs: 60_000,
    handlers: {
      'order.placed.v1': async (event, manager) => {
        if (event.id === failing) {
          failingCalls += 1;
          throw new Error('this event always fails');
        }
        await record(event, manager);
        await manager.query(`INSERT INTO applied_in (event_id, txid) VALUES ($1, txid_current())`, [event.id]);
      },
    },
  });
  consumer.start();
  await waitFor('the others applied', () => allAppliedOnce(harness.dataSource, ids.filter((id) => id !== failing)));
  await waitFor('the failure logged', () => harness.logger.lines.some((line) => line.message === 'event handler failed; the event stays pending'));
  await consumer.stop();

  const [{ transactions }] = await harness.dataSource.query(`SELECT count(DISTINCT txid)::int AS transactions FROM applied_in`);
  t.equal(transactions, 2, 'the 12 events before the failing one in one transaction, the 17 after it in another');
  t.equal(failingCalls, 1, 'the failing handler ran once for its one delivery, as if it had been read alone');
  t.notOk((await effectCounts(harness.dataSource)).has(failing), 'its effect rolled back');
  const [{ count }] = await harness.dataSource.query(`SELECT count(*)::int AS count FROM processed_events`);
  t.equal(count, 29, 'a failed event is not recorded as processed');
  const pending = (await harness.redis.xpending(harness.stream, 'catalog', '-', '+', 10)) as [string, string, number, number][];
  t.equal(pending.length, 1, 'only the failed event is left pending');
  t.equal(pending[0]![3], 1, 'after its one delivery');
});

t.test('a handler gets the transaction: its follow-up events commit with the effect', async (t) => {
  const harness = await createHarness(t, 'events-consumer-follow-up');
  const [placed] = await placeOrders(harness.dataSource, 1);
  harness.relay().start();
  let seen: Delivery | undefined;
  harness
    .consumer({
      handlers: {
        'order.placed.v1': async (event, manager, delivery) => {
          seen = delivery;
          await recordEffect('catalog')(event, manager);
          await appendEvent(manager, { type: 'stock.released.v1', source: 'catalog', payload: { orderId: event.payload.orderId } });
        },
      },
    })
    .start();
  await waitFor('the follow-up event on the catalog stream', async () => (await harness.redis.xlen('events:catalog')) === 1);
  t.equal((await effectCounts(harness.dataSource)).get(placed!), 1);
  t.match(seen, { stream: harness.stream, deliveries: 1 });
});

t.test('events of types the group does not handle are acknowledged and skipped', async (t) => {
  const harness = await createHarness(t, 'events-consumer-skip');
  const ids = await placeOrders(harness.dataSource, 3);
  harness.relay().start();
  const consumer = harness.consumer({ handlers: { 'order.cancelled.v1': recordEffect('catalog') } });
  consumer.start();
  await waitFor('all read and acknowledged', async () => (await harness.redis.xlen(harness.stream)) === 3 && (await pendingCount(harness.redis, harness.stream)) === 0
    && harness.logger.lines.filter((line) => line.message === 'event not handled by this group; skipped').length === 3);
  t.equal((await effectCounts(harness.dataSource)).size, 0);
  t.equal(await countDeadLetters(harness.dataSource, 'catalog'), 0, 'nothing dead-lettered');
  t.equal(ids.length, 3);
});

t.test('poison events go to the dead letters table while later events are processed', async (t) => {
  const harness = await createHarness(t, 'events-consumer-poison');
  const poisonOrder = randomUUID();
  let poisonAttempts = 0;
  const handler = recordEffect('catalog');
  harness
    .consumer({
      maxDeliveries: 3,
      handlers: {
        'order.placed.v1': async (event, manager) => {
          if (event.payload.orderId === poisonOrder) {
            poisonAttempts += 1;
            throw new Error('this order makes the handler fail, always');
          }
          await handler(event, manager);
        },
      },
    })
    .start();
  const good = () => ({ id: randomUUID(), type: 'order.placed.v1', source: 'orders', occurredAt: new Date().toISOString(), payload: { orderId: randomUUID(), userId: randomUUID(), items: [{ productId: randomUUID(), quantity: 1 }] } });
  const first = good();
  const poison = { ...good(), payload: { orderId: poisonOrder, userId: randomUUID(), items: [{ productId: randomUUID(), quantity: 2 }] } };
  const invalid = { ...good(), payload: { orderId: randomUUID(), items: [] } };
  const unknown = { ...good(), type: 'order.exploded.v1' };
  const extra = { ...good(), payload: { ...good().payload, couponCode: 'SPRING' }, traceId: 'abc' };
  const last = good();
  for (const event of [first, poison, invalid, unknown, extra]) await harness.redis.xadd(harness.stream, '*', ...entry(event));
  await harness.redis.xadd(harness.stream, '*', 'event', '{not json');
  await harness.redis.xadd(harness.stream, '*', ...entry(last));

  await waitFor('the later good events applied', () => allAppliedOnce(harness.dataSource, [first.id, extra.id, last.id]));
  await waitFor('four dead letters', async () => (await countDeadLetters(harness.dataSource, 'catalog')) === 4);
  await waitFor('nothing pending', async () => (await pendingCount(harness.redis, harness.stream)) === 0);

  const letters = await listDeadLetters(harness.dataSource, 'catalog');
  const byReason = Object.fromEntries(letters.map((letter) => [letter.reason, letter]));
  t.match(byReason.handler_failed, { deliveries: 3, detail: /handler fail, always/, consumer: 'catalog', stream: harness.stream, eventId: poison.id, eventType: 'order.placed.v1' });
  t.equal(JSON.parse(byReason.handler_failed!.event).id, poison.id, 'the dead letter carries the event');
  t.match(byReason.invalid_payload, { deliveries: 1, detail: /\/payload\/userId|\/userId|items/ });
  t.equal(JSON.parse(byReason.invalid_payload!.event!).id, invalid.id);
  t.match(byReason.unknown_type, { detail: /order\.exploded\.v1/ });
  t.match(byReason.invalid_json, { event: '{not json' });
  t.equal(poisonAttempts, 3, 'the failing handler was tried maxDeliveries times');
  t.equal((await effectCounts(harness.dataSource)).size, 3, 'only the good events had effects');
  const [{ count }] = await harness.dataSource.query(`SELECT count(*)::int AS count FROM processed_events`);
  t.equal(count, 3, 'a failed event is not recorded as processed');
});

t.test('stop lets the handler in flight commit and acknowledge, and never acknowledges what did not commit', async (t) => {
  const harness = await createHarness(t, 'events-consumer-stop');
  const [slow, failing] = await placeOrders(harness.dataSource, 2);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  const handler = recordEffect('catalog');
  const consumer = harness.consumer({
    batchSize: 1,
    claimIdleMs: 60_000,
    handlers: {
      'order.placed.v1': async (event, manager) => {
        if (event.id === failing) throw new Error('fails, and must stay pending');
        entered();
        await released;
        await handler(event, manager);
      },
    },
  });
  harness.relay().start();
  consumer.start();
  await inHandler;
  let stopped = false;
  const stopping = consumer.stop().then(() => (stopped = true));
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.notOk(stopped, 'stop waits for the handler');
  release();
  await stopping;
  t.equal((await effectCounts(harness.dataSource)).get(slow!), 1, 'the in-flight event committed');
  t.equal(await pendingCount(harness.redis, harness.stream), 0, 'and was acknowledged');

  // Now the failing one: read, rolled back, left pending for a retry.
  const again = harness.consumer({ batchSize: 1, claimIdleMs: 60_000, handlers: { 'order.placed.v1': async () => { throw new Error('fails, and must stay pending'); } } });
  again.start();
  await waitFor('the failure logged', () => harness.logger.lines.some((line) => line.message === 'event handler failed; the event stays pending'));
  await again.stop();
  const pending = (await harness.redis.xpending(harness.stream, 'catalog', '-', '+', 10)) as [string, string, number, number][];
  t.equal(pending.length, 1, 'the failed event is still pending');
  t.equal((await effectCounts(harness.dataSource)).has(failing!), false);
});

t.test('a handler for a type the contracts do not know is refused at construction', async (t) => {
  const harness = await createHarness(t, 'events-consumer-bad-handler');
  t.throws(
    () =>
      new StreamConsumer({
        redis: harness.redis,
        dataSource: harness.dataSource,
        group: 'catalog',
        streams: ['events:orders'],
        handlers: { 'order.placed.v2': async () => {} } as never,
      }),
    /order\.placed\.v2/,
  );
});

t.test('processed_events rows older than the retention are pruned, the group\'s own only', async (t) => {
  const harness = await createHarness(t, 'events-consumer-prune');
  const [oldOwn, oldOther, recentOwn] = [randomUUID(), randomUUID(), randomUUID()];
  await harness.dataSource.query(
    `INSERT INTO processed_events (consumer, event_id, event_type, processed_at) VALUES
       ('catalog', $1, 'order.placed.v1', now() - interval '2 hours'),
       ('orders', $2, 'stock.reserved.v1', now() - interval '2 hours'),
       ('catalog', $3, 'order.placed.v1', now())`,
    [oldOwn, oldOther, recentOwn],
  );
  harness.consumer({ processedRetentionMs: 3_600_000 }).start();
  const left = async () => (await harness.dataSource.query(`SELECT event_id FROM processed_events ORDER BY event_id`)).map((row: { event_id: string }) => row.event_id);
  await waitFor('the old row pruned', async () => !(await left()).includes(oldOwn));
  t.same(await left(), [oldOther, recentOwn].sort());
});
