import { randomUUID } from 'node:crypto';
import { withTransaction } from '@shop/db';
import type { FastifyBaseLogger } from 'fastify';
import t from 'tap';
import { appendEvent, checkEvent, type EventLogger } from '../src/index';
import { createHarness, placeOrders, streamEventIds, unpublishedCount, waitFor } from './helper';

t.test('an event appended in a transaction that rolls back is never published', async (t) => {
  const harness = await createHarness(t, 'events-outbox-rollback');
  await t.rejects(
    withTransaction(harness.dataSource, async (manager) => {
      await appendEvent(manager, { type: 'order.cancelled.v1', source: 'orders', payload: { orderId: randomUUID(), userId: randomUUID() } });
      throw new Error('the change failed');
    }),
    /the change failed/,
  );
  const [committed] = await placeOrders(harness.dataSource, 1);
  harness.relay().start();
  await waitFor('the committed event on the stream', async () => (await streamEventIds(harness.redis, harness.stream)).length > 0);
  t.same(await streamEventIds(harness.redis, harness.stream), [committed], 'only the committed event');
  const [{ count }] = await harness.dataSource.query(`SELECT count(*)::int AS count FROM outbox`);
  t.equal(count, 1, 'the rolled-back row never existed');
});

t.test('committed events are published in order, as valid envelopes, and marked published', async (t) => {
  const harness = await createHarness(t, 'events-outbox-order');
  const ids = await placeOrders(harness.dataSource, 25);
  harness.relay({ batchSize: 7 }).start();
  await waitFor('every event on the stream', async () => (await streamEventIds(harness.redis, harness.stream)).length === 25);
  t.same(await streamEventIds(harness.redis, harness.stream), ids, 'stream order is commit order');
  await waitFor('every row marked published', async () => (await unpublishedCount(harness.dataSource)) === 0);

  const [, fields] = (await harness.redis.xrange(harness.stream, '-', '+', 'COUNT', 1))[0]!;
  const envelope = JSON.parse(fields[fields.indexOf('event') + 1]!);
  t.match(checkEvent(envelope), { ok: true }, 'the envelope passes the contract');
  t.match(envelope, { id: ids[0], type: 'order.placed.v1', source: 'orders', payload: { items: [{ quantity: 1 }] } });
});

t.test('an event appended later is published promptly', async (t) => {
  const harness = await createHarness(t, 'events-outbox-latency');
  // A slow poll: only the commit hook can make this prompt.
  harness.relay({ pollIntervalMs: 5_000 }).start();
  await waitFor('the relay to settle', async () => (await harness.redis.exists('events:relay:orders:published-up-to')) === 1);
  const started = Date.now();
  const [id] = await placeOrders(harness.dataSource, 1);
  await waitFor('the event on the stream', async () => (await streamEventIds(harness.redis, harness.stream)).includes(id!), 4_000);
  t.ok(Date.now() - started < 4_000, 'well before the next poll');
});

t.test('appendEvent refuses to work outside a transaction', async (t) => {
  const harness = await createHarness(t, 'events-outbox-no-tx');
  await t.rejects(
    appendEvent(harness.dataSource.manager, { type: 'stock.released.v1', source: 'catalog', payload: { orderId: randomUUID() } }),
    /open transaction/,
  );
  t.equal(await unpublishedCount(harness.dataSource), 0);
});

t.test('a payload that breaks its contract throws in the producer and rolls the change back', async (t) => {
  const harness = await createHarness(t, 'events-outbox-invalid');
  await t.rejects(
    withTransaction(harness.dataSource, (manager) =>
      appendEvent(manager, {
        type: 'stock.rejected.v1',
        source: 'catalog',
        payload: { orderId: 'not-a-uuid', reason: 'out_of_stock' },
      }),
    ),
    /invalid stock\.rejected\.v1 payload: \/orderId/,
  );
  await t.rejects(
    withTransaction(harness.dataSource, (manager) =>
      // @ts-expect-error a reason the contract does not know
      appendEvent(manager, { type: 'stock.rejected.v1', source: 'catalog', payload: { orderId: randomUUID(), reason: 'bored' } }),
    ),
    /invalid stock\.rejected\.v1 payload/,
  );
  t.equal(await unpublishedCount(harness.dataSource), 0);
});

t.test('events go to the stream of their source, or the one named', async (t) => {
  const harness = await createHarness(t, 'events-outbox-streams');
  const released = await withTransaction(harness.dataSource, async (manager) => {
    const first = await appendEvent(manager, { type: 'stock.released.v1', source: 'catalog', payload: { orderId: randomUUID() } });
    await appendEvent(manager, { type: 'stock.released.v1', source: 'catalog', stream: 'events:elsewhere', payload: { orderId: randomUUID() } });
    return first;
  });
  harness.relay().start();
  await waitFor('both streams', async () => (await harness.redis.xlen('events:catalog')) === 1 && (await harness.redis.xlen('events:elsewhere')) === 1);
  t.same(await streamEventIds(harness.redis, 'events:catalog'), [released.id]);
});

t.test('the migrations create and drop the tables and the trace-context column', async (t) => {
  const harness = await createHarness(t, 'events-outbox-migrations');
  const tables = async (): Promise<string[]> =>
    (
      await harness.dataSource.query(
        `SELECT table_name FROM information_schema.tables WHERE table_name IN ('outbox', 'outbox_consumed', 'processed_events', 'effects', 'dead_letters') ORDER BY table_name`,
      )
    ).map((row: { table_name: string }) => row.table_name);
  const traceColumn = async (): Promise<number> =>
    (await harness.dataSource.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'outbox' AND column_name = 'trace_context'`)).length;
  t.same(await tables(), ['dead_letters', 'effects', 'outbox', 'outbox_consumed', 'processed_events']);
  t.equal(await traceColumn(), 1);
  await harness.dataSource.undoLastMigration(); // dead_letters
  t.same(await tables(), ['effects', 'outbox', 'outbox_consumed', 'processed_events']);
  await harness.dataSource.undoLastMigration(); // outbox.trace_context
  t.equal(await traceColumn(), 0);
  await harness.dataSource.undoLastMigration(); // outbox_consumed
  await harness.dataSource.undoLastMigration(); // effects
  await harness.dataSource.undoLastMigration(); // processed_events
  await harness.dataSource.undoLastMigration(); // outbox
  t.same(await tables(), []);
});

// A service passes its own logger (Fastify's `app.log`, a pino instance): it must fit without a cast.
export const fastifyLoggerFits = (log: FastifyBaseLogger): EventLogger => log;
