import { randomUUID } from 'node:crypto';
import { countDeadLetters } from '@shop/events';
import { probeUntil } from '@shop/testing';
import t from 'tap';
import { build, publish, streamClient, type ItemJson } from '../helper';

t.test('learns from the real streams: products from the catalog, sales from orders', async (t) => {
  const { app, env } = await build(t, { MIN_PAIR_CUSTOMERS: '2' });
  const redis = streamClient(t, env.REDIS_KEY_PREFIX);
  const snapshot = (productId: string, name: string, extra: Partial<{ stock: number; version: number; categoryId: string | null }> = {}) => ({
    productId,
    sku: name.toUpperCase(),
    name,
    description: null,
    priceCents: 500,
    currency: 'USD',
    categoryId: null,
    tags: [],
    stock: 5,
    version: 1,
    ...extra,
  });
  const recommended = async (productId: string) => {
    const response = await app.inject({ method: 'GET', url: `/v1/products/${productId}/recommendations` });
    return response.statusCode === 200 ? (response.json().items as ItemJson[]).map((item) => `${item.product.name}:${item.reason}`) : response.statusCode;
  };
  const counted = async () => (await app.db.query(`SELECT count(*)::int AS n FROM order_facts WHERE counted`))[0].n as number;

  const [cup, lid, straw] = [randomUUID(), randomUUID(), randomUUID()];
  await publish(redis, 'catalog', 'product.created.v1', snapshot(cup, 'Cup'));
  await publish(redis, 'catalog', 'product.created.v1', snapshot(lid, 'Lid'));
  await publish(redis, 'catalog', 'product.created.v1', snapshot(straw, 'Straw'));
  t.same(await probeUntil(() => recommended(cup), (value) => value !== 404), [], 'known once the catalog announced it; nothing sold yet');

  const confirmed = (userId: string, productIds: string[], orderId = randomUUID()) => ({
    orderId,
    userId,
    items: productIds.map((productId) => ({ productId, quantity: 1 })),
    confirmedAt: new Date().toISOString(),
  });
  const ann = randomUUID();
  const bob = randomUUID();
  const annOrder = confirmed(ann, [cup, lid]);
  const duplicateId = await publish(redis, 'orders', 'order.confirmed.v1', annOrder);
  await publish(redis, 'orders', 'order.confirmed.v1', annOrder, duplicateId); // the same event again
  await publish(redis, 'orders', 'order.confirmed.v1', annOrder); // the same order under another event id
  const bobOrder = confirmed(bob, [cup, lid, straw]);
  await publish(redis, 'orders', 'order.confirmed.v1', bobOrder);
  t.same(await probeUntil(() => recommended(cup), (value) => Array.isArray(value) && value[0] === 'Lid:bought-together'), ['Lid:bought-together', 'Straw:popular']);
  t.equal(await counted(), 2, 'duplicates counted once');
  const [pair] = await app.db.query(`SELECT customers FROM pair_counts WHERE product_id = $1 AND other_id = $2`, [cup, lid]);
  t.equal(pair.customers, 2);

  t.test('stock and deletion: never out of stock, never deleted', async (t) => {
    await publish(redis, 'catalog', 'product.stock-changed.v1', { productId: lid, stock: 0, version: 2 });
    t.same(await probeUntil(() => recommended(cup), (value) => Array.isArray(value) && !value.includes('Lid:bought-together')), ['Straw:popular']);
    await publish(redis, 'catalog', 'product.stock-changed.v1', { productId: lid, stock: 9, version: 1 }); // late: an older version
    await publish(redis, 'catalog', 'product.updated.v1', snapshot(lid, 'Lid', { stock: 3, version: 3 }));
    // A read made while the stock changes may show the lid once as popular (its two statements see
    // the change at different moments): wait for the settled answer, then check all of it.
    t.same(await probeUntil(() => recommended(cup), (value) => Array.isArray(value) && value[0] === 'Lid:bought-together'), ['Lid:bought-together', 'Straw:popular']);
    const [row] = await app.db.query(`SELECT stock, version FROM products WHERE id = $1`, [lid]);
    t.same(row, { stock: 3, version: 3 }, 'the newest version wins');

    await publish(redis, 'catalog', 'product.deleted.v1', { productId: straw, sku: 'STRAW' });
    await publish(redis, 'catalog', 'product.updated.v1', snapshot(straw, 'Straw', { version: 9 })); // late: never resurrects it
    t.equal(await probeUntil(() => recommended(straw), (value) => value === 404), 404);
    t.same(await recommended(cup), ['Lid:bought-together']);
  });

  t.test('a cancellation withdraws; its duplicate changes nothing', async (t) => {
    const cancelled = { orderId: bobOrder.orderId, userId: bob };
    const first = await publish(redis, 'orders', 'order.cancelled.v1', cancelled);
    await publish(redis, 'orders', 'order.cancelled.v1', cancelled, first);
    await publish(redis, 'orders', 'order.cancelled.v1', cancelled);
    t.same(await probeUntil(() => recommended(cup), (value) => Array.isArray(value) && value[0] !== 'Lid:bought-together'), ['Lid:popular']);
    t.equal(await counted(), 1);
    const [lidStats] = await app.db.query(`SELECT customers FROM item_stats WHERE product_id = $1`, [lid]);
    t.equal(lidStats.customers, 1, "Ann's order still counts");
  });

  t.test('an event that breaks its contract goes to the dead letter; the rest flows on', async (t) => {
    await redis.xadd('events:orders', '*', 'id', randomUUID(), 'type', 'order.confirmed.v1', 'event', JSON.stringify({
      id: randomUUID(), type: 'order.confirmed.v1', source: 'orders', occurredAt: new Date().toISOString(), payload: { orderId: 'nope' },
    }));
    const carol = randomUUID();
    await publish(redis, 'orders', 'order.confirmed.v1', confirmed(carol, [cup]));
    const dead = await probeUntil(() => countDeadLetters(app.db, 'recommendations'), (count) => count === 1);
    t.equal(dead, 1);
    t.equal(await probeUntil(counted, (value) => value === 2), 2, 'the next order is counted');
  });
});
