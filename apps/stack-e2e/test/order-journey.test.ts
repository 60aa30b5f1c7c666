import { randomUUID } from 'node:crypto';
import t from 'tap';
import WebSocket from 'ws';
import { startStack } from './stack';

/** Everything goes through the gateway, as a client of the public API would. */
t.test('a customer’s journey through the gateway', async (t) => {
  const { gatewayUrl, admin } = await startStack(t);
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  const email = `e2e-${randomUUID()}@example.test`;
  const registered = await call('POST', '/v1/auth/register', { email, password: 'correct horse battery', name: 'E2E' });
  t.equal(registered.status, 201);
  const login = await call('POST', '/v1/auth/login', { email, password: 'correct horse battery' });
  t.equal(login.status, 200);
  const customer = login.body.accessToken as string;
  const adminToken = (await call('POST', '/v1/auth/login', admin)).body.accessToken as string;
  t.ok(adminToken, 'the admin can log in');

  const product = await call(
    'POST',
    '/v1/products',
    { sku: `E2E-${randomUUID().slice(0, 8)}`, name: 'End-to-end mug', description: 'Holds tea', priceCents: 1234, tags: ['e2e'], stock: 5 },
    bearer(adminToken),
  );
  t.equal(product.status, 201, JSON.stringify(product.body));
  const productId = product.body.id as string;
  t.equal((await call('POST', '/v1/products', { sku: 'X', name: 'x', priceCents: 1, stock: 1 }, bearer(customer))).status, 403, 'a customer cannot write the catalog');

  const socket = new WebSocket(`${gatewayUrl.replace('http', 'ws')}/v1/orders/events?access_token=${customer}`);
  const messages: { type: string; order: { id: string; status: string } }[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  t.teardown(() => socket.terminate());

  const placed = await call('POST', '/v1/orders', { items: [{ productId, quantity: 2 }] }, { ...bearer(customer), prefer: 'wait=5', 'idempotency-key': randomUUID() });
  t.equal(placed.status, 201);
  t.equal(placed.headers.get('preference-applied'), 'wait=5');
  t.match(placed.body, { status: 'confirmed', totalCents: 2468, currency: 'USD' });
  t.match(placed.body.items, [{ productId, quantity: 2, unitPriceCents: 1234, lineTotalCents: 2468, name: 'End-to-end mug' }]);
  const orderId = placed.body.id as string;

  const deadline = Date.now() + 5_000;
  while (!messages.some((message) => message.order.id === orderId && message.order.status === 'confirmed') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  t.ok(messages.some((message) => message.type === 'order.updated' && message.order.id === orderId && message.order.status === 'confirmed'), 'the WebSocket update arrived');

  const stockOf = async () => (await call('GET', `/v1/products/${productId}`)).body.stock as number;
  t.equal(await stockOf(), 3);
  const cancelled = await call('POST', `/v1/orders/${orderId}/cancel`, undefined, bearer(customer));
  t.equal(cancelled.status, 200);
  t.equal(cancelled.body.status, 'cancelled');
  const restoreDeadline = Date.now() + 5_000;
  while ((await stockOf()) !== 5 && Date.now() < restoreDeadline) await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(await stockOf(), 5, 'the stock came back');

  t.test('a race for the last units', async (t) => {
    const scarce = await call('POST', '/v1/products', { sku: `E2E-R-${randomUUID().slice(0, 8)}`, name: 'Last ones', priceCents: 500, stock: 3 }, bearer(adminToken));
    const results = await Promise.all(
      Array.from({ length: 12 }, () => call('POST', '/v1/orders', { items: [{ productId: scarce.body.id, quantity: 1 }] }, { ...bearer(customer), prefer: 'wait=10' })),
    );
    const statuses = results.map((result) => result.body.status as string);
    t.equal(statuses.filter((status) => status === 'confirmed').length, 3, 'exactly as many confirmed as were in stock');
    t.equal(statuses.filter((status) => status === 'rejected').length, 9);
    t.ok(results.filter((result) => result.body.status === 'rejected').every((result) => result.body.rejectionReason === 'out_of_stock'));
    t.equal((await call('GET', `/v1/products/${scarce.body.id}`)).body.stock, 0);
  });
});
