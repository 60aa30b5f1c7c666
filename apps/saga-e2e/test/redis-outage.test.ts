import { randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { groupCaughtUp, Saga, startPrivateRedis, waitFor, type Order } from './helper';

// This test shuts down and restarts a redis-server of its own, never the shared one.

t.test('Redis gone for ~5 s and back empty: every order settles, nothing lost or doubled, stock adds up', async (t) => {
  const redisServer = await startPrivateRedis(t);
  const saga = await Saga.build(t, { redisUrl: redisServer.url });
  const products = [await saga.createProduct(15, 100), await saga.createProduct(15, 200), await saga.createProduct(15, 300)];
  const initial = new Map(products.map((product) => [product.id, 15]));
  const randomItems = () => {
    const product = products[randomInt(products.length)]!;
    return [{ productId: product.id, quantity: 1 + randomInt(2) }];
  };

  const before: Order[] = [];
  for (let index = 0; index < 10; index += 1) before.push(await saga.placeOrder(randomItems(), { waitSeconds: 10 }));
  t.ok(before.every((order) => order.status !== 'pending'), 'with Redis up, orders settle at once');
  const confirmedBefore = before.filter((order) => order.status === 'confirmed');
  await saga.cancelOrder(confirmedBefore[0]!.id);
  const unpublished = async () => ((await saga.orders.db.query(`SELECT count(*)::int AS count FROM outbox WHERE published_at IS NULL`)) as { count: number }[])[0]!.count;
  await waitFor('orders\' outbox published', async () => (await unpublished()) === 0);
  const publishedBefore = ((await saga.orders.db.query(`SELECT count(*)::int AS count FROM outbox`)) as { count: number }[])[0]!.count;
  // The relay checkpoints what the catalog acknowledged once a second; Redis dies after that, as in a real outage.
  const checkpointed = async () =>
    ((await saga.orders.db.query(
      `SELECT coalesce((SELECT position FROM outbox_consumed WHERE stream = 'events:orders'), 0) >= (SELECT max(position) FROM outbox) AS done`,
    )) as { done: boolean }[])[0]!.done;
  await waitFor('orders\' relay to checkpoint what the catalog acknowledged', checkpointed, 10_000);

  await redisServer.shutdown();
  const outageStarted = Date.now();
  // Orders are still taken, and cancelled, while Redis is away: their events wait in the outboxes.
  const during: Order[] = [];
  for (let index = 0; index < 10; index += 1) during.push(await saga.placeOrder(randomItems()));
  t.ok(during.every((order) => order.status === 'pending'), 'placed while Redis is down: pending');
  await saga.cancelOrder(confirmedBefore[1]!.id);
  await saga.cancelOrder(during[0]!.id);
  t.equal(await unpublished(), 12, 'ten placements and two cancellations wait in orders\' outbox');

  // The outage lasts about five seconds; then Redis comes back with nothing in it.
  await delay(Math.max(0, 5_000 - (Date.now() - outageStarted)));
  await redisServer.start();
  const restarted = Date.now();
  t.equal(await saga.redis.xlen('events:orders').catch(() => 0), 0, 'Redis came back empty');

  await waitFor('every order to leave pending', async () => [...(await saga.orderStatuses()).values()].every((status) => status !== 'pending'), 40_000);
  t.comment(`every order settled ${Date.now() - restarted} ms after Redis came back`);
  const balanced = async () => {
    const held = await saga.unitsHeld();
    for (const [productId, stock] of initial) if ((await saga.storedStock(productId)) + (held.get(productId) ?? 0) !== stock) return false;
    return true;
  };
  // The releases of the cancelled orders may land just after the last verdict.
  await waitFor('initial stock = available + held by confirmed orders, for every product', balanced, 20_000);
  await waitFor('both groups to catch up', async () =>
    (await groupCaughtUp(saga.redis, saga.prefix, 'events:orders', 'catalog')) && (await groupCaughtUp(saga.redis, saga.prefix, 'events:catalog', 'orders')), 20_000);
  t.ok(await balanced(), 'initial stock = available + held by confirmed orders, for every product');

  // Everything published before the outage had been consumed (give or take the last checkpoint): the replay is nearly empty.
  const replayed = await saga.redis.xlen('events:orders:replay');
  t.comment(`orders' relay replayed ${replayed} of the ${publishedBefore} events published before Redis lost them`);
  // Besides those twelve, the live stream holds the confirmations of orders settled after the outage.
  const liveTypes = (await saga.redis.xrange('events:orders', '-', '+')).map(([, fields]) => fields[fields.indexOf('type') + 1]);
  t.equal(liveTypes.filter((type) => type !== 'order.confirmed.v1').length, 12, 'the twelve events that waited in orders\' outbox went to the live stream');
  t.ok(replayed < publishedBefore, 'the replay cost what the catalog had not acknowledged, not everything published');
  const statuses = await saga.orderStatuses();
  t.equal(statuses.size, 20);
  t.equal(statuses.get(during[0]!.id), 'cancelled', 'an order cancelled during the outage stays cancelled');
  t.equal(statuses.get(confirmedBefore[1]!.id), 'cancelled');
  const verdicts: { order_id: string; count: number }[] = await saga.catalog.db.query(
    `SELECT payload->>'orderId' AS order_id, count(*)::int AS count FROM outbox WHERE type IN ('stock.reserved.v1', 'stock.rejected.v1') GROUP BY 1`,
  );
  t.equal(verdicts.length, 20, 'the catalog answered every order');
  t.ok(verdicts.every((verdict) => verdict.count === 1), 'exactly once, though events were replayed');
  const [{ count: releases }] = await saga.catalog.db.query(`SELECT count(*)::int AS count FROM outbox WHERE type = 'stock.released.v1'`);
  t.equal(releases, 3, 'one release per cancellation');
  const [{ count: processed }] = await saga.catalog.db.query(`SELECT count(*)::int AS count FROM processed_events`);
  t.equal(processed, 23, 'the catalog applied 20 placements and 3 cancellations, each once');
  for (const product of products) {
    t.equal(await saga.stockOf(product.id), await saga.storedStock(product.id), 'the catalog API serves the stored stock (no stale cache)');
  }
});
