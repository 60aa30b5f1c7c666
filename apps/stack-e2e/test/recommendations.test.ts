import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startStack } from './stack';

interface Item {
  product: { id: string; name: string };
  score: number;
  reason: string;
}

/**
 * Through the gateway, over real sockets, as a client would: a confirmed order changes
 * recommendations within 5 seconds (the contract), and a cancellation withdraws it as promptly.
 */
t.test('recommendations learn from confirmed orders through the whole stack', async (t) => {
  const { gatewayUrl, admin } = await startStack(t);
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const signIn = async (credentials: { email: string; password: string }) => (await call('POST', '/v1/auth/login', credentials)).body.accessToken as string;
  const customer = async () => {
    const credentials = { email: `reco-${randomUUID()}@example.test`, password: 'correct horse battery' };
    t.equal((await call('POST', '/v1/auth/register', { ...credentials, name: 'Reco' })).status, 201);
    return signIn(credentials);
  };
  const adminToken = await signIn(admin);
  const product = async (name: string) => {
    const created = await call('POST', '/v1/products', { sku: `RECO-${randomUUID().slice(0, 8)}`, name, priceCents: 500, stock: 100 }, bearer(adminToken));
    t.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.id as string;
  };
  const order = async (token: string, productIds: string[]) => {
    const placed = await call('POST', '/v1/orders', { items: productIds.map((productId) => ({ productId, quantity: 1 })) }, { ...bearer(token), prefer: 'wait=10' });
    t.equal(placed.body.status, 'confirmed');
    return placed.body.id as string;
  };
  /** Polls until `check` holds; returns the time it took. */
  const within = async (label: string, check: () => Promise<boolean>, timeoutMs = 5_000) => {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > timeoutMs) {
        t.fail(`${label}: not within ${timeoutMs} ms`);
        return Number.POSITIVE_INFINITY;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const elapsed = Date.now() - started;
    t.pass(`${label} within ${elapsed} ms`);
    return elapsed;
  };
  const recommendedWith = async (productId: string) => ((await call('GET', `/v1/products/${productId}/recommendations?limit=50`)).body?.items ?? []) as Item[];
  const reasonOf = async (productId: string, other: string) => (await recommendedWith(productId)).find((item) => item.product.id === other)?.reason;

  const [kettle, teabags, cosy] = [await product('E2E kettle'), await product('E2E teabags'), await product('E2E tea cosy')];
  await within('the new product is known to recommendations', async () => (await call('GET', `/v1/products/${kettle}/recommendations`)).status === 200, 10_000);

  const [ann, bob, cat] = [await customer(), await customer(), await customer()];
  await order(ann, [kettle, teabags]);
  await order(bob, [kettle, teabags]);
  await within('two customers: teabags listed for the kettle, as popular only (below the privacy threshold)', async () => (await reasonOf(kettle, teabags)) === 'popular');
  const third = await order(cat, [kettle, teabags]);
  await within('the third customer’s confirmed order: bought together', async () => (await reasonOf(kettle, teabags)) === 'bought-together');
  const list = await recommendedWith(kettle);
  t.notOk(list.some((item) => item.product.id === kettle), 'never the product itself');

  await order(adminToken, [cosy]);
  await order(adminToken, [kettle]);
  await within('personal: teabags for someone who bought the kettle, never what they bought', async () => {
    const items = (await call('GET', '/v1/recommendations', undefined, bearer(adminToken))).body.items as Item[];
    return items[0]?.product.id === teabags && items[0].reason === 'similar-to-your-orders' && !items.some((item) => [kettle, cosy].includes(item.product.id));
  });

  await call('POST', `/v1/orders/${third}/cancel`, undefined, bearer(cat));
  await within('the cancellation withdraws the third customer: popular again', async () => (await reasonOf(kettle, teabags)) === 'popular');

  t.equal((await call('GET', `/v1/products/${randomUUID()}/recommendations`)).body.code, 'RECOMMENDATIONS_PRODUCT_NOT_FOUND');
  t.equal((await call('GET', `/v1/products/${kettle}/recommendations?limit=51`)).status, 400);
  t.equal((await call('GET', '/v1/recommendations')).status, 401);
  const docs = await call('GET', '/docs/openapi.json');
  t.ok(docs.body.paths['/v1/products/{id}/recommendations'], 'documented at the gateway');
});
