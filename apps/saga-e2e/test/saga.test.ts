import { randomUUID } from 'node:crypto';
import t from 'tap';
import { groupCaughtUp, Saga, waitFor } from './helper';

t.test('the order saga across orders and the catalog', async (t) => {
  const saga = await Saga.build(t);

  t.test('an order in stock is confirmed at the catalog\'s prices, with the right total', async (t) => {
    const lamp = await saga.createProduct(5, 1_250);
    const mug = await saga.createProduct(3, 999);
    const order = await saga.placeOrder([{ productId: lamp.id, quantity: 2 }, { productId: mug.id, quantity: 1 }], { waitSeconds: 10 });
    t.match(order, { status: 'confirmed', totalCents: 2 * 1_250 + 999, currency: 'USD', rejectionReason: null });
    t.same(order.items, [
      { productId: lamp.id, sku: lamp.sku, name: lamp.name, quantity: 2, unitPriceCents: 1_250, lineTotalCents: 2_500 },
      { productId: mug.id, sku: mug.sku, name: mug.name, quantity: 1, unitPriceCents: 999, lineTotalCents: 999 },
    ]);
    await waitFor('the catalog to show the reservation', async () => (await saga.stockOf(lamp.id)) === 3 && (await saga.stockOf(mug.id)) === 2, 1_000);
    t.pass('the catalog shows the reserved stock within a second');
  });

  t.test('an order for more than is in stock is rejected as out_of_stock, and takes nothing', async (t) => {
    const scarce = await saga.createProduct(2);
    const plenty = await saga.createProduct(10);
    const order = await saga.placeOrder([{ productId: plenty.id, quantity: 1 }, { productId: scarce.id, quantity: 3 }], { waitSeconds: 10 });
    t.match(order, { status: 'rejected', rejectionReason: 'out_of_stock', totalCents: null });
    t.equal(await saga.stockOf(scarce.id), 2);
    t.equal(await saga.stockOf(plenty.id), 10, 'the line that fitted was not held either');
  });

  t.test('an order for a product the catalog does not know is rejected as product_not_found', async (t) => {
    const real = await saga.createProduct(4);
    const order = await saga.placeOrder([{ productId: real.id, quantity: 1 }, { productId: randomUUID(), quantity: 1 }], { waitSeconds: 10 });
    t.match(order, { status: 'rejected', rejectionReason: 'product_not_found' });
    t.equal(await saga.stockOf(real.id), 4);
  });

  t.test('cancelling a confirmed order puts its stock back', async (t) => {
    const product = await saga.createProduct(6);
    const order = await saga.placeOrder([{ productId: product.id, quantity: 4 }], { waitSeconds: 10 });
    t.equal(order.status, 'confirmed');
    await waitFor('the reservation to show', async () => (await saga.stockOf(product.id)) === 2);
    const cancelled = await saga.cancelOrder(order.id);
    t.equal(cancelled.status, 'cancelled');
    await waitFor('the stock to come back', async () => (await saga.stockOf(product.id)) === 6);
    t.equal(await saga.storedStock(product.id), 6);
    t.equal((await saga.getOrder(order.id)).status, 'cancelled');
  });

  t.test('an order cancelled before the catalog answered stays cancelled, and holds nothing', async (t) => {
    const product = await saga.createProduct(5);
    // The catalog is down: the order waits as pending, and is cancelled so.
    await saga.catalog.close();
    const order = await saga.placeOrder([{ productId: product.id, quantity: 3 }]);
    t.equal(order.status, 'pending');
    t.equal((await saga.cancelOrder(order.id)).status, 'cancelled');

    // The catalog comes back (the same consumer name, as a restarted pod) and hears both events.
    saga.catalog = await saga.startCatalog('catalog-1');
    await waitFor('the catalog to answer both', async () => {
      const answers: { type: string }[] = await saga.catalog.db.query(`SELECT type FROM outbox WHERE payload->>'orderId' = $1`, [order.id]);
      return answers.some((answer) => answer.type === 'stock.released.v1');
    });
    await waitFor('orders to hear the answers', () => groupCaughtUp(saga.redis, saga.prefix, 'events:catalog', 'orders'));
    t.equal((await saga.getOrder(order.id)).status, 'cancelled', 'a late reservation does not revive it');
    await waitFor('the stock to be whole', async () => (await saga.stockOf(product.id)) === 5, 1_000);
    t.equal(await saga.storedStock(product.id), 5);
    const [reservation] = await saga.catalog.db.query(`SELECT state FROM stock_reservations WHERE order_id = $1`, [order.id]);
    t.equal(reservation.state, 'released');
  });
});
