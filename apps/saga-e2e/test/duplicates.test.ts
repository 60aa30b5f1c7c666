import t from 'tap';
import { groupCaughtUp, Saga, waitFor } from './helper';

/** Everything that must not change when events arrive a second time. */
async function snapshot(saga: Saga, productIds: string[]) {
  const count = async (db: Saga['catalog']['db'], sql: string) => ((await db.query(sql)) as { count: number }[])[0]!.count;
  return {
    orders: await saga.orders.db.query(`SELECT id, status, total_cents, updated_at FROM orders ORDER BY id`),
    stock: await Promise.all(productIds.map((id) => saga.storedStock(id))),
    reservations: await saga.catalog.db.query(`SELECT order_id, state, updated_at FROM stock_reservations ORDER BY order_id`),
    catalogOutbox: await count(saga.catalog.db, `SELECT count(*)::int AS count FROM outbox`),
    ordersOutbox: await count(saga.orders.db, `SELECT count(*)::int AS count FROM outbox`),
    catalogProcessed: await count(saga.catalog.db, `SELECT count(*)::int AS count FROM processed_events`),
    ordersProcessed: await count(saga.orders.db, `SELECT count(*)::int AS count FROM processed_events`),
  };
}

t.test('every event delivered twice is applied once', async (t) => {
  const saga = await Saga.build(t);
  const a = await saga.createProduct(20, 500);
  const b = await saga.createProduct(20, 800);
  const initial = new Map([[a.id, 20], [b.id, 20]]);
  const bothCaughtUp = async () =>
    (await groupCaughtUp(saga.redis, saga.prefix, 'events:orders', 'catalog')) && (await groupCaughtUp(saga.redis, saga.prefix, 'events:catalog', 'orders'));

  t.test('each entry copied on the stream, the copies raced by two catalog replicas', async (t) => {
    await saga.catalog.close();
    const placed = [];
    for (let index = 0; index < 10; index += 1) {
      placed.push(await saga.placeOrder([{ productId: a.id, quantity: 1 + (index % 2) }, { productId: b.id, quantity: 1 }]));
    }
    for (const order of placed.slice(0, 3)) await saga.cancelOrder(order.id);
    await waitFor('13 events on events:orders', async () => (await saga.redis.xlen('events:orders')) === 13);
    // Every entry again, as a relay that crashed between its XADD and its commit would leave them.
    for (const [, fields] of await saga.redis.xrange('events:orders', '-', '+')) await saga.redis.xadd('events:orders', '*', ...fields);

    saga.catalog = await saga.startCatalog('catalog-1');
    await saga.startCatalog('catalog-2');
    await waitFor('every order to settle', async () => [...(await saga.orderStatuses()).values()].every((status) => status !== 'pending'));
    await waitFor('both groups to catch up', bothCaughtUp);

    const statuses = [...(await saga.orderStatuses()).values()].sort();
    t.same(statuses, [...Array(3).fill('cancelled'), ...Array(7).fill('confirmed')]);
    const held = await saga.unitsHeld();
    for (const [productId, stock] of initial) {
      t.equal((await saga.storedStock(productId)) + (held.get(productId) ?? 0), stock, 'initial stock = available + held by confirmed orders');
    }
    const answers: { order_id: string; verdicts: number; releases: number }[] = await saga.catalog.db.query(
      `SELECT payload->>'orderId' AS order_id,
              count(*) FILTER (WHERE type IN ('stock.reserved.v1', 'stock.rejected.v1'))::int AS verdicts,
              count(*) FILTER (WHERE type = 'stock.released.v1')::int AS releases
         FROM outbox WHERE type LIKE 'stock.%' GROUP BY 1`,
    );
    t.equal(answers.length, 10);
    t.ok(answers.every((answer) => answer.verdicts === 1), 'one verdict per order, though each placement came twice');
    t.equal(answers.reduce((sum, answer) => sum + answer.releases, 0), 3, 'one release per cancellation');
    const [{ count }] = await saga.catalog.db.query(`SELECT count(*)::int AS count FROM processed_events`);
    t.equal(count, 13, '26 deliveries, 13 events applied');
  });

  t.test('both relays replay everything (Redis lost their markers): nothing is applied twice', async (t) => {
    const before = await snapshot(saga, [a.id, b.id]);
    const ordersReplayed = await saga.redis.xlen('events:orders:replay');
    const catalogReplayed = await saga.redis.xlen('events:catalog:replay');
    // Without their checkpoints of what the groups acknowledged, the relays cannot tell what was
    // consumed: they replay every event of the window, so each one is delivered a second time.
    await saga.orders.db.query(`DELETE FROM outbox_consumed`);
    await saga.catalog.db.query(`DELETE FROM outbox_consumed`);
    await saga.redis.del('events:relay:orders:published-up-to', 'events:relay:catalog:published-up-to');

    await waitFor('the replays', async () =>
      (await saga.redis.xlen('events:orders:replay')) === ordersReplayed + before.ordersOutbox &&
      (await saga.redis.xlen('events:catalog:replay')) === catalogReplayed + before.catalogOutbox);
    await waitFor('both groups to catch up', bothCaughtUp);
    t.same(await snapshot(saga, [a.id, b.id]), before, 'orders, stock, reservations, answers and processed events unchanged');
  });
});
