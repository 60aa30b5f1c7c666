import { randomUUID } from 'node:crypto';
import t from 'tap';
import { groupCaughtUp, listDeadLetters, Saga, waitFor } from './helper';

t.test('poison events go to the dead letters while the events behind them are still processed', async (t) => {
  const saga = await Saga.build(t, { catalog: { EVENTS_MAX_DELIVERIES: '3' } });
  const product = await saga.createProduct(10, 450);
  const envelope = (type: string, payload: object) => ({ id: randomUUID(), type, source: 'orders', occurredAt: new Date().toISOString(), payload });

  // Not JSON at all; then an order that honours the event contract but that the catalog refuses
  // (more than 1000 units on a line), so its handler fails on every delivery.
  await saga.redis.xadd('events:orders', '*', 'event', '{"truncated');
  const unfillable = envelope('order.placed.v1', { orderId: randomUUID(), userId: randomUUID(), items: [{ productId: product.id, quantity: 5_000 }] });
  await saga.redis.xadd('events:orders', '*', 'id', unfillable.id, 'type', unfillable.type, 'event', JSON.stringify(unfillable));
  // And one for orders: a stock answer that breaks its contract.
  const broken = { ...envelope('stock.reserved.v1', { orderId: randomUUID(), items: [] }), source: 'catalog' };
  await saga.redis.xadd('events:catalog', '*', 'id', broken.id, 'type', broken.type, 'event', JSON.stringify(broken));

  const orders = [];
  for (let index = 0; index < 3; index += 1) orders.push(await saga.placeOrder([{ productId: product.id, quantity: 2 }], { waitSeconds: 10 }));
  t.same(orders.map((order) => [order.status, order.totalCents]), [['confirmed', 900], ['confirmed', 900], ['confirmed', 900]], 'the orders behind the poison were confirmed');

  let catalogDead = await listDeadLetters(saga.catalog.db, 'catalog');
  await waitFor('two dead letters for the catalog', async () => (catalogDead = await listDeadLetters(saga.catalog.db, 'catalog')).length === 2);
  t.same(catalogDead.map((letter) => letter.reason), ['invalid_json', 'handler_failed']);
  t.equal(catalogDead[1]!.deliveries, 3, 'the failing one after EVENTS_MAX_DELIVERIES attempts');
  t.equal(JSON.parse(catalogDead[1]!.event).id, unfillable.id, 'with the event as it was, to replay after a fix');
  t.match(catalogDead[1]!.detail, /not valid/, 'and why it failed');

  let ordersDead = await listDeadLetters(saga.orders.db, 'orders');
  await waitFor('a dead letter for orders', async () => (ordersDead = await listDeadLetters(saga.orders.db, 'orders')).length === 1);
  t.equal(ordersDead[0]!.reason, 'invalid_payload');

  await waitFor('both groups to have nothing left pending', async () =>
    (await groupCaughtUp(saga.redis, saga.prefix, 'events:orders', 'catalog')) && (await groupCaughtUp(saga.redis, saga.prefix, 'events:catalog', 'orders')));
  t.equal(await saga.storedStock(product.id), 4, 'only the good orders took stock');
  const [{ count }] = await saga.catalog.db.query(`SELECT count(*)::int AS count FROM stock_reservations`);
  t.equal(count, 3, 'the failing handler left nothing behind');
});
