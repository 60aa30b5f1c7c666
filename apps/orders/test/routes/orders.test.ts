import { randomUUID } from 'node:crypto';
import { probeUntil } from '@shop/testing';
import t from 'tap';
import { bearer, build, fakeCatalog, problemOf } from '../helper';

const product = () => randomUUID();

t.test('orders', async (t) => {
  const { app, env, tokens } = await build(t);
  const catalog = await fakeCatalog(t, env.REDIS_KEY_PREFIX);
  const alice = { id: randomUUID() };
  const aliceToken = await tokens.tokenFor({ userId: alice.id });
  const bobToken = await tokens.tokenFor({});
  const adminToken = await tokens.tokenFor({ role: 'admin' });
  const place = (items: unknown, headers: Record<string, string> = {}, token = aliceToken) =>
    app.inject({ method: 'POST', url: '/v1/orders', payload: { items } as object, headers: { ...bearer(token), ...headers } });
  const get = (id: string, token = aliceToken) => app.inject({ method: 'GET', url: `/v1/orders/${id}`, headers: bearer(token) });

  t.test('placed as pending, then confirmed at the catalog prices', async (t) => {
    const [p1, p2] = [product(), product()];
    const response = await place([{ productId: p1, quantity: 2 }, { productId: p2, quantity: 1 }]);
    t.equal(response.statusCode, 201);
    const order = response.json();
    t.equal(response.headers.location, `/v1/orders/${order.id}`);
    t.match(order, { userId: alice.id, status: 'pending', totalCents: null, currency: 'USD', rejectionReason: null });
    t.match(order.items, [{ productId: p1, quantity: 2, sku: null, unitPriceCents: null }, { productId: p2, quantity: 1 }]);
    const outbox = await app.db.query(`SELECT type, payload FROM outbox`);
    t.ok(outbox.some((row: { type: string; payload: { orderId: string } }) => row.type === 'order.placed.v1' && row.payload.orderId === order.id));

    await catalog.reserved({
      orderId: order.id,
      currency: 'USD',
      items: [
        { productId: p1, sku: 'SKU-1', name: 'Mug', quantity: 2, unitPriceCents: 1250 },
        { productId: p2, sku: 'SKU-2', name: 'Tea', quantity: 1, unitPriceCents: 499 },
      ],
    });
    const confirmed = await probeUntil(() => get(order.id), (r) => r.json().status !== 'pending');
    t.match(confirmed.json(), { status: 'confirmed', totalCents: 2999, rejectionReason: null });
    t.match(confirmed.json().items, [
      { productId: p1, sku: 'SKU-1', name: 'Mug', quantity: 2, unitPriceCents: 1250, lineTotalCents: 2500 },
      { productId: p2, sku: 'SKU-2', name: 'Tea', quantity: 1, unitPriceCents: 499, lineTotalCents: 499 },
    ]);
    const sold = await app.db.query(`SELECT payload FROM outbox WHERE type = 'order.confirmed.v1' AND payload->>'orderId' = $1`, [order.id]);
    t.same(
      sold.map((row: { payload: unknown }) => row.payload),
      [{ orderId: order.id, userId: alice.id, items: [{ productId: p1, quantity: 2 }, { productId: p2, quantity: 1 }], confirmedAt: confirmed.json().updatedAt }],
      'the confirmation is published once, with what was sold, by whom and when',
    );
  });

  t.test('Prefer: wait answers with the settled order', async (t) => {
    const p1 = product();
    const pending = place([{ productId: p1, quantity: 1 }], { prefer: 'wait=10' });
    const id = await probeUntil(
      async () => (await app.db.query(`SELECT id FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.product_id = $1`, [p1]))[0]?.id as string | undefined,
      (value) => value !== undefined,
    );
    await catalog.rejected({ orderId: id!, reason: 'out_of_stock', productIds: [p1] });
    const response = await pending;
    t.equal(response.statusCode, 201);
    t.equal(response.headers['preference-applied'], 'wait=10');
    t.match(response.json(), { id, status: 'rejected', rejectionReason: 'out_of_stock', totalCents: null });

    const timedOut = await place([{ productId: product(), quantity: 1 }], { prefer: 'wait=1' });
    t.equal(timedOut.statusCode, 201);
    t.equal(timedOut.headers['preference-applied'], 'wait=1');
    t.equal(timedOut.json().status, 'pending', 'after N seconds the order is answered as it is');
  });

  t.test('cancel', async (t) => {
    const p1 = product();
    const order = (await place([{ productId: p1, quantity: 3 }])).json();
    await catalog.reserved({ orderId: order.id, currency: 'USD', items: [{ productId: p1, sku: 'S', name: 'N', quantity: 3, unitPriceCents: 100 }] });
    await probeUntil(() => get(order.id), (r) => r.json().status === 'confirmed');

    t.equal((await app.inject({ method: 'POST', url: `/v1/orders/${order.id}/cancel`, headers: bearer(bobToken) })).statusCode, 404, "someone else's order is not found");
    const cancelled = await app.inject({ method: 'POST', url: `/v1/orders/${order.id}/cancel`, headers: bearer(aliceToken) });
    t.equal(cancelled.statusCode, 200);
    t.equal(cancelled.json().status, 'cancelled');
    const events = await app.db.query(`SELECT payload FROM outbox WHERE type = 'order.cancelled.v1'`);
    t.ok(events.some((row: { payload: { orderId: string } }) => row.payload.orderId === order.id));
    const again = await app.inject({ method: 'POST', url: `/v1/orders/${order.id}/cancel`, headers: bearer(aliceToken) });
    t.equal(again.statusCode, 409);
    t.equal(problemOf(again).code, 'ORDERS_NOT_CANCELLABLE');

    const late = await catalog.reserved({ orderId: order.id, currency: 'USD', items: [{ productId: p1, sku: 'S', name: 'N', quantity: 3, unitPriceCents: 100 }] });
    t.ok(late);
    const stillCancelled = await probeUntil(() => get(order.id), () => false, 300);
    t.equal(stillCancelled.json().status, 'cancelled', 'a late reservation never resurrects a cancelled order');

    const pendingOrder = (await place([{ productId: product(), quantity: 1 }])).json();
    const cancelPending = await app.inject({ method: 'POST', url: `/v1/orders/${pendingOrder.id}/cancel`, headers: bearer(adminToken) });
    t.equal(cancelPending.statusCode, 200, 'orders:read:all may cancel anyone’s order');

    const rejectedOrder = (await place([{ productId: product(), quantity: 1 }])).json();
    await catalog.rejected({ orderId: rejectedOrder.id, reason: 'product_not_found' });
    await probeUntil(() => get(rejectedOrder.id), (r) => r.json().status === 'rejected');
    const cancelRejected = await app.inject({ method: 'POST', url: `/v1/orders/${rejectedOrder.id}/cancel`, headers: bearer(aliceToken) });
    t.equal(cancelRejected.statusCode, 409);
  });

  t.test('reads: owners see their own, orders:read:all sees everyone’s', async (t) => {
    const bobOrder = (await place([{ productId: product(), quantity: 1 }], {}, bobToken)).json();
    t.equal((await get(bobOrder.id)).statusCode, 404, "alice cannot see bob's order");
    t.equal((await get(bobOrder.id, bobToken)).statusCode, 200);
    t.equal((await get(bobOrder.id, adminToken)).statusCode, 200);
    t.equal((await get('not-a-uuid')).statusCode, 404);

    const mine = (await app.inject({ method: 'GET', url: '/v1/orders?limit=100', headers: bearer(aliceToken) })).json();
    t.ok(mine.items.length >= 4);
    t.ok(mine.items.every((order: { userId: string }) => order.userId === alice.id), 'only her own');
    const times = mine.items.map((order: { createdAt: string }) => order.createdAt);
    t.same(times, [...times].sort().reverse(), 'newest first');

    const all = (await app.inject({ method: 'GET', url: '/v1/orders?limit=100', headers: bearer(adminToken) })).json();
    t.ok(all.items.some((order: { userId: string }) => order.userId !== alice.id));
    const bobsOnly = (await app.inject({ method: 'GET', url: `/v1/orders?userId=${bobOrder.userId}`, headers: bearer(adminToken) })).json();
    t.ok(bobsOnly.items.length >= 1 && bobsOnly.items.every((order: { userId: string }) => order.userId === bobOrder.userId));
    const cancelled = (await app.inject({ method: 'GET', url: '/v1/orders?status=cancelled', headers: bearer(aliceToken) })).json();
    t.ok(cancelled.items.length >= 1 && cancelled.items.every((order: { status: string }) => order.status === 'cancelled'));
    const forbidden = await app.inject({ method: 'GET', url: `/v1/orders?userId=${bobOrder.userId}`, headers: bearer(aliceToken) });
    t.equal(forbidden.statusCode, 403);

    const seen = new Set<string>();
    let url: string | null = '/v1/orders?limit=2';
    while (url) {
      const page = await app.inject({ method: 'GET', url, headers: bearer(aliceToken) });
      for (const order of page.json<{ items: { id: string }[] }>().items) {
        t.notOk(seen.has(order.id));
        seen.add(order.id);
      }
      const link = page.headers.link as string | undefined;
      url = link ? link.slice(1, link.indexOf('>')) : null;
    }
    t.equal(seen.size, mine.items.length, 'paging visits every order once');
  });

  t.test('bad input', async (t) => {
    const p1 = product();
    t.equal((await app.inject({ method: 'POST', url: '/v1/orders', payload: { items: [{ productId: p1, quantity: 1 }] } })).statusCode, 401);
    const duplicate = await place([{ productId: p1, quantity: 1 }, { productId: p1, quantity: 2 }]);
    t.equal(duplicate.statusCode, 400);
    t.equal(problemOf(duplicate).code, 'ORDERS_DUPLICATE_PRODUCT');
    t.match(problemOf(duplicate).errors, [{ path: '/body/items/1/productId' }]);
    for (const items of [[], [{ productId: p1, quantity: 0 }], [{ productId: p1, quantity: 1001 }], [{ productId: 'nope', quantity: 1 }], [{ productId: p1, quantity: 1, unitPriceCents: 1 }]]) {
      const response = await place(items);
      t.equal(response.statusCode, 400, JSON.stringify(items));
      t.equal(problemOf(response).code, 'REQUEST_VALIDATION_FAILED');
    }
    const tooMany = Array.from({ length: 51 }, () => ({ productId: product(), quantity: 1 }));
    t.equal((await place(tooMany)).statusCode, 400, '51 lines');
    const fifty = Array.from({ length: 50 }, () => ({ productId: product(), quantity: 1 }));
    t.equal((await place(fifty)).statusCode, 201, '50 lines are fine');
    const extra = await app.inject({ method: 'POST', url: '/v1/orders', payload: { items: [{ productId: p1, quantity: 1 }], status: 'confirmed' }, headers: bearer(aliceToken) });
    t.equal(extra.statusCode, 400, 'a client cannot set the status');
  });
});
