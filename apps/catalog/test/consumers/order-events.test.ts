import { randomUUID } from 'node:crypto';
import { listDeadLetters } from '@shop/events';
import { eventually, type Teardown } from '@shop/testing';
import type { Redis } from 'ioredis';
import t from 'tap';
import { invalidateAfterCommit, productCacheInvalidator } from '../../src/cache/invalidate-after-commit';
import { build, createProduct, fakeOrders, outboxEvents, type App, type OutboxEvent, type ProductJson } from '../helper';

const ORDERS_STREAM = 'events:orders';

/** Short idle times, so a failed event is retried (and dead-lettered) within a test's patience. */
async function buildSaga(t: Teardown) {
  const built = await build(t, { EVENTS_MAX_DELIVERIES: '2' }, { consumer: { claimIdleMs: 200, claimIntervalMs: 100, blockMs: 100 } });
  const orders = await fakeOrders(t, built.env.REDIS_KEY_PREFIX);
  /** Resolves once the catalog has applied and acknowledged everything on `events:orders`. */
  const caughtUp = () => eventually(async () => ((await consumedAll(orders.redis, built.env.REDIS_KEY_PREFIX)) ? true : undefined));
  return { ...built, orders, caughtUp };
}

/** The catalog's answers to an order (stock.reserved / rejected / released), in order. */
async function answersTo(app: App, orderId: string): Promise<OutboxEvent[]> {
  const answers = await outboxEvents(app, 'stock.reserved.v1', 'stock.rejected.v1', 'stock.released.v1');
  return answers.filter((event) => (event.payload as { orderId: string }).orderId === orderId);
}

function answered(app: App, orderId: string, count = 1): Promise<OutboxEvent[]> {
  return eventually(async () => {
    const answers = await answersTo(app, orderId);
    return answers.length >= count ? answers : undefined;
  });
}

/** True once the group has read every entry of the stream and acknowledged each. */
async function consumedAll(redis: Redis, prefix: string): Promise<boolean> {
  // XINFO is one of the commands whose key ioredis does not prefix.
  const groups = (await redis.xinfo('GROUPS', prefix + ORDERS_STREAM).catch(() => [])) as (string | number)[][];
  const group = groups.find((fields) => fields[fields.indexOf('name') + 1] === 'catalog');
  if (!group) return false;
  return group[group.indexOf('lag') + 1] === 0 && group[group.indexOf('pending') + 1] === 0;
}

async function stockOf(app: App, productId: string): Promise<number> {
  const response = await app.inject({ method: 'GET', url: `/v1/products/${productId}` });
  return response.json<ProductJson>().stock;
}

t.test('order.placed.v1 reserves the stock and answers stock.reserved.v1 with the catalog\'s prices', async (t) => {
  const { app, admin, orders, caughtUp } = await buildSaga(t);
  const lamp = await createProduct(app, admin, { stock: 5, priceCents: 1_250 });
  const mug = await createProduct(app, admin, { stock: 3, priceCents: 999 });
  await eventually(async () => (app.catalog.cache.active ? true : undefined));
  t.equal(await stockOf(app, lamp.id), 5);
  t.equal(await stockOf(app, lamp.id), 5, 'read again: now from the cache');

  const orderId = randomUUID();
  await orders.placed(orderId, [{ productId: lamp.id, quantity: 2 }, { productId: mug.id, quantity: 1 }]);
  const [answer] = await answered(app, orderId);
  t.same(answer!.type, 'stock.reserved.v1');
  t.same(answer!.payload, {
    orderId,
    items: [
      { productId: lamp.id, sku: lamp.sku, name: lamp.name, quantity: 2, unitPriceCents: 1_250 },
      { productId: mug.id, sku: mug.sku, name: mug.name, quantity: 1, unitPriceCents: 999 },
    ],
    currency: 'USD',
  });
  // The cache is invalidated after the commit and before the acknowledgement: once the event is
  // acknowledged, every read sees the new stock, no waiting.
  await caughtUp();
  t.equal(await stockOf(app, lamp.id), 3, 'the cached copy was replaced');
  t.equal(await stockOf(app, mug.id), 2);
  const changes = (await outboxEvents(app, 'product.stock-changed.v1')).map((event) => event.payload as { productId: string });
  const expected = [{ productId: lamp.id, stock: 3, version: 2 }, { productId: mug.id, stock: 2, version: 2 }];
  const byId = (a: { productId: string }, b: { productId: string }) => (a.productId < b.productId ? -1 : 1);
  t.same(changes.sort(byId), expected.sort(byId), 'one product.stock-changed.v1 per moved product');
  const [{ count }] = await app.db.query(`SELECT count(*)::int AS count FROM processed_events WHERE consumer = 'catalog'`);
  t.equal(count, 1, 'recorded as processed by the catalog group');
});

t.test('an order the catalog cannot fill is rejected with the reason, and nothing moves', async (t) => {
  const { app, admin, orders } = await buildSaga(t);
  const scarce = await createProduct(app, admin, { stock: 1 });
  const plenty = await createProduct(app, admin, { stock: 50 });

  const tooMany = randomUUID();
  await orders.placed(tooMany, [{ productId: plenty.id, quantity: 3 }, { productId: scarce.id, quantity: 2 }]);
  t.same((await answered(app, tooMany)).map(({ type, payload }) => ({ type, payload })), [
    { type: 'stock.rejected.v1', payload: { orderId: tooMany, reason: 'out_of_stock', productIds: [scarce.id] } },
  ]);

  const ghost = randomUUID();
  const unknown = randomUUID();
  await orders.placed(unknown, [{ productId: plenty.id, quantity: 1 }, { productId: ghost, quantity: 1 }]);
  t.same((await answered(app, unknown)).map(({ type, payload }) => ({ type, payload })), [
    { type: 'stock.rejected.v1', payload: { orderId: unknown, reason: 'product_not_found', productIds: [ghost] } },
  ]);

  t.equal(await stockOf(app, scarce.id), 1);
  t.equal(await stockOf(app, plenty.id), 50, 'the lines that fitted were not taken either');
  t.same(await outboxEvents(app, 'product.stock-changed.v1'), [], 'no stock moved');
});

t.test('a placement carrying fields this catalog does not know is served all the same (tolerant reader)', async (t) => {
  const { app, admin, orders } = await buildSaga(t);
  const product = await createProduct(app, admin, { stock: 4 });
  const orderId = randomUUID();
  const items = [{ productId: product.id, quantity: 2, giftWrap: true }];
  await orders.placed(orderId, items);
  t.same((await answered(app, orderId)).map((event) => event.type), ['stock.reserved.v1']);
  t.equal(await stockOf(app, product.id), 2);
});

t.test('order.cancelled.v1 gives the stock back; a cancellation that overtook its placement refuses it', async (t) => {
  const { app, admin, orders, caughtUp } = await buildSaga(t);
  const product = await createProduct(app, admin, { stock: 4 });

  const kept = randomUUID();
  await orders.placed(kept, [{ productId: product.id, quantity: 3 }]);
  await answered(app, kept);
  t.equal(await stockOf(app, product.id), 1);
  await orders.cancelled(kept);
  const [, released] = await answered(app, kept, 2);
  t.same({ type: released!.type, payload: released!.payload }, { type: 'stock.released.v1', payload: { orderId: kept } });
  await caughtUp();
  t.equal(await stockOf(app, product.id), 4, 'back in stock, and readers see it');

  const overtaken = randomUUID();
  await orders.cancelled(overtaken);
  t.same((await answered(app, overtaken)).map((event) => event.type), ['stock.released.v1'], 'released: there was nothing to give back');
  await orders.placed(overtaken, [{ productId: product.id, quantity: 1 }]);
  const answers = await answered(app, overtaken, 2);
  t.same(answers[1]!.payload, { orderId: overtaken, reason: 'order_released' }, 'the late placement is refused');
  t.equal(await stockOf(app, product.id), 4, 'and took nothing');
});

t.test('every event delivered twice is applied once', async (t) => {
  const { app, admin, orders, caughtUp } = await buildSaga(t);
  const product = await createProduct(app, admin, { stock: 10 });
  const orderIds = Array.from({ length: 5 }, () => randomUUID());
  for (const orderId of orderIds) await orders.placed(orderId, [{ productId: product.id, quantity: 1 }]);
  await orders.cancelled(orderIds[0]!);
  await eventually(async () => ((await orders.redis.xlen(ORDERS_STREAM)) === 6 ? true : undefined));
  // Each entry again, as a relay that published and crashed before marking its rows would.
  for (const [, fields] of await orders.redis.xrange(ORDERS_STREAM, '-', '+')) await orders.redis.xadd(ORDERS_STREAM, '*', ...fields);

  await eventually(async () => ((await orders.redis.xlen(ORDERS_STREAM)) === 12 ? true : undefined));
  await caughtUp();
  t.equal(await stockOf(app, product.id), 6, 'five taken, one given back: once each');
  for (const orderId of orderIds) {
    t.same((await answersTo(app, orderId)).map((event) => event.type), orderId === orderIds[0] ? ['stock.reserved.v1', 'stock.released.v1'] : ['stock.reserved.v1'], 'answered once');
  }
  t.equal((await outboxEvents(app, 'product.stock-changed.v1')).length, 6);
  const [{ count }] = await app.db.query(`SELECT count(*)::int AS count FROM processed_events WHERE consumer = 'catalog'`);
  t.equal(count, 6);
});

t.test('poison events go to the dead letters table; the events after them are still applied', async (t) => {
  const { app, admin, orders, caughtUp } = await buildSaga(t);
  const product = await createProduct(app, admin, { stock: 10 });
  const envelope = (payload: object) => ({ id: randomUUID(), type: 'order.placed.v1', source: 'orders', occurredAt: new Date().toISOString(), payload });

  await orders.redis.xadd(ORDERS_STREAM, '*', 'event', '{not json');
  const badPayload = envelope({ orderId: 'nope', items: [] });
  await orders.redis.xadd(ORDERS_STREAM, '*', 'id', badPayload.id, 'type', badPayload.type, 'event', JSON.stringify(badPayload));
  // Valid by the event's contract, refused by the catalog's own rules (at most 1000 per line): the handler fails every time.
  const unfillable = envelope({ orderId: randomUUID(), userId: randomUUID(), items: [{ productId: product.id, quantity: 5_000 }] });
  await orders.redis.xadd(ORDERS_STREAM, '*', 'id', unfillable.id, 'type', unfillable.type, 'event', JSON.stringify(unfillable));
  const good = randomUUID();
  await orders.placed(good, [{ productId: product.id, quantity: 2 }]);

  t.same((await answered(app, good)).map((event) => event.type), ['stock.reserved.v1'], 'the good order behind the poison was answered');
  const dead = await eventually(async () => {
    const letters = await listDeadLetters(app.db, 'catalog');
    return letters.length === 3 ? letters : undefined;
  });
  t.same(dead.map((letter) => letter.reason), ['invalid_json', 'invalid_payload', 'handler_failed']);
  t.equal(dead[2]!.deliveries, 2, 'dead-lettered after EVENTS_MAX_DELIVERIES');
  t.equal(JSON.parse(dead[2]!.event).id, unfillable.id);
  await caughtUp();
  t.equal(await stockOf(app, product.id), 8, 'only the good order took stock');
  const [{ count }] = await app.db.query(`SELECT count(*)::int AS count FROM stock_reservations`);
  t.equal(count, 1, 'the failed handler left nothing behind');
});

t.test('readers racing the consumer never keep a stale copy in the cache', async (t) => {
  const { app, admin, orders, caughtUp } = await buildSaga(t);
  const product = await createProduct(app, admin, { stock: 30 });
  await eventually(async () => (app.catalog.cache.active ? true : undefined));
  let reading = true;
  let reads = 0;
  const readers = Array.from({ length: 4 }, async () => {
    while (reading) {
      await stockOf(app, product.id);
      reads += 1;
    }
  });
  for (let index = 0; index < 20; index += 1) await orders.placed(randomUUID(), [{ productId: product.id, quantity: 1 }]);
  await eventually(async () => ((await orders.redis.xlen(ORDERS_STREAM)) === 20 ? true : undefined));
  await caughtUp();
  reading = false;
  await Promise.all(readers);
  t.ok(reads > 20, `${reads} reads raced the consumer`);
  t.equal(await stockOf(app, product.id), 10, 'the first read after the last acknowledgement sees the final stock');
  const [{ stock }] = await app.db.query(`SELECT stock FROM products WHERE id = $1`, [product.id]);
  t.equal(stock, 10);
});

t.test('invalidateAfterCommit hands the products to the cache after the commit, never before, never on rollback', async (t) => {
  const { app, admin } = await build(t);
  const product = await createProduct(app, admin);
  const calls: string[][] = [];
  const subscriber = productCacheInvalidator({ productsChanged: async (ids) => void calls.push(ids) }, { warn: () => undefined });
  app.db.subscribers.push(subscriber);
  t.teardown(() => void app.db.subscribers.splice(app.db.subscribers.indexOf(subscriber), 1));

  await app.db.transaction(async (manager) => {
    await manager.query(`UPDATE products SET stock = 3 WHERE id = $1`, [product.id]);
    invalidateAfterCommit(manager, [product.id]);
    invalidateAfterCommit(manager, [product.id]);
    t.same(calls, [], 'nothing before the commit');
  });
  t.same(calls, [[product.id]], 'once, after the commit');

  await app.db
    .transaction(async (manager) => {
      invalidateAfterCommit(manager, [product.id]);
      throw new Error('rolled back');
    })
    .catch(() => undefined);
  t.same(calls, [[product.id]], 'nothing after a rollback');

  await app.db.transaction(async (manager) => {
    await manager.transaction(async (nested) => invalidateAfterCommit(nested, [product.id]));
    t.same(calls, [[product.id]], 'a savepoint released is no commit');
  });
  t.same(calls, [[product.id], [product.id]]);
  t.throws(() => invalidateAfterCommit(app.db.manager, [product.id]), /open transaction/);
});
