import { randomUUID } from 'node:crypto';
import t from 'tap';
import { bearer, build, problemOf } from '../helper';

t.test('orders refuse hostile input with 400s and stable codes', async (t) => {
  const { app, tokens } = await build(t);
  const token = await tokens.tokenFor({});
  const auth = bearer(token);
  const place = (payload: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/orders', payload, headers: { ...auth, 'content-type': 'application/json', ...headers } });

  t.test('one product twice, spelt in two letter cases, is one product: 400, not a 500 from the primary key', async (t) => {
    const id = randomUUID();
    const response = await place(JSON.stringify({ items: [{ productId: id, quantity: 1 }, { productId: id.toUpperCase(), quantity: 2 }] }));
    t.equal(response.statusCode, 400);
    t.match(problemOf(response), { code: 'ORDERS_DUPLICATE_PRODUCT', errors: [{ path: '/body/items/1/productId' }] });

    const upper = randomUUID().toUpperCase();
    const placed = await place(JSON.stringify({ items: [{ productId: upper, quantity: 1 }] }));
    t.equal(placed.statusCode, 201);
    t.equal(placed.json().items[0].productId, upper.toLowerCase(), 'stored and answered in the canonical spelling');
  });

  t.test('cancel takes no fields: unknown body properties are 400', async (t) => {
    const order = (await place(JSON.stringify({ items: [{ productId: randomUUID(), quantity: 1 }] }))).json();
    const cancel = (payload?: string) =>
      app.inject({ method: 'POST', url: `/v1/orders/${order.id}/cancel`, headers: { ...auth, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, ...(payload === undefined ? {} : { payload }) });
    for (const body of ['{"status":"confirmed"}', '{"reason":"changed my mind"}', '[]', '"cancel"']) {
      const refused = await cancel(body);
      t.equal(refused.statusCode, 400, body);
      t.equal(problemOf(refused).code, 'REQUEST_VALIDATION_FAILED', body);
    }
    t.match(problemOf(await cancel('{"status":"confirmed"}')).errors, [{ path: '/body/status' }]);
    t.equal((await cancel('{}')).statusCode, 200, 'an empty object is fine');
    const order2 = (await place(JSON.stringify({ items: [{ productId: randomUUID(), quantity: 1 }] }))).json();
    const bare = await app.inject({ method: 'POST', url: `/v1/orders/${order2.id}/cancel`, headers: auth });
    t.equal(bare.statusCode, 200, `and so is no body at all: ${bare.body}`);
  });

  t.test('a body in another charset than UTF-8 is 415', async (t) => {
    const response = await place(JSON.stringify({ items: [{ productId: randomUUID(), quantity: 1 }] }), { 'content-type': 'application/json; charset=utf-16' });
    t.equal(response.statusCode, 415);
    t.equal(problemOf(response).code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  t.test('ids in paths and queries are canonical too', async (t) => {
    const order = (await place(JSON.stringify({ items: [{ productId: randomUUID(), quantity: 1 }] }))).json();
    const read = await app.inject({ method: 'GET', url: `/v1/orders/${order.id.toUpperCase()}`, headers: auth });
    t.equal(read.statusCode, 200);
    t.equal(read.json().id, order.id);
  });
});
