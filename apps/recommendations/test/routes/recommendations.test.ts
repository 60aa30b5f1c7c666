import { randomUUID } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { RecommendationListSchema } from '@shop/contracts';
import t from 'tap';
import { bearer, build, problemOf, type ItemJson, type Shop } from '../helper';

/** Each of `customers` buys `products` together once. */
async function boughtTogether(shop: Shop, customers: number, products: string[]): Promise<string[]> {
  const users = Array.from({ length: customers }, () => randomUUID());
  for (const user of users) await shop.order(user, products);
  return users;
}

t.test('GET /v1/products/:id/recommendations', async (t) => {
  const { app, shop, issuer } = await build(t);
  const get = async (id: string, query = '', headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url: `/v1/products/${id}/recommendations${query}`, headers });
  const itemsOf = (response: { json: () => unknown }) => (response.json() as { items: ItemJson[] }).items;

  const kitchen = randomUUID();
  const garden = randomUUID();
  const mug = await shop.product({ name: 'Mug', categoryId: kitchen });
  const tea = await shop.product({ name: 'Tea', categoryId: kitchen });
  const spoon = await shop.product({ name: 'Spoon', categoryId: kitchen });
  const kettle = await shop.product({ name: 'Kettle', categoryId: kitchen, stock: 0 });
  const saucer = await shop.product({ name: 'Saucer', categoryId: kitchen });
  const teapot = await shop.product({ name: 'Teapot', categoryId: kitchen });
  const hose = await shop.product({ name: 'Hose', categoryId: garden });
  const lonely = await shop.product({ name: 'Lonely', categoryId: kitchen });

  await boughtTogether(shop, 6, [mug, tea]);
  await boughtTogether(shop, 3, [mug, spoon]);
  await boughtTogether(shop, 5, [mug, kettle]); // out of stock: never recommended
  await boughtTogether(shop, 4, [mug, saucer]);
  await shop.deleteProduct(saucer); // deleted: never recommended
  await boughtTogether(shop, 2, [mug, teapot]); // below the threshold of 3 customers
  await boughtTogether(shop, 9, [hose]);
  await boughtTogether(shop, 1, [teapot]);

  t.test('bought together, best first, then popular in the category, then overall', async (t) => {
    const response = await get(mug);
    t.equal(response.statusCode, 200);
    t.ok(Value.Check(RecommendationListSchema, response.json()), 'the contract schema');
    const items = itemsOf(response);
    t.same(
      items.map((item) => [item.product.name, item.reason]),
      [
        ['Tea', 'bought-together'],
        ['Spoon', 'bought-together'],
        ['Teapot', 'popular'], // 3 customers (2 with the mug, 1 alone), of the kitchen
        ['Hose', 'popular'], // the garden: popular overall
      ],
    );
    t.ok(items[0]!.score > items[1]!.score, 'scores fall within a reason');
    t.match(items[0]!.product, { id: tea, name: 'Tea', categoryId: kitchen, stock: 10, currency: 'USD', version: 1 });
    t.notOk(items.some((item) => item.product.id === mug), 'never the product itself');
    t.notOk(items.some((item) => item.product.id === kettle), 'never an out-of-stock product');
    t.notOk(items.some((item) => item.product.id === saucer), 'never a deleted product');
  });

  t.test('the similarity: cosine over customers, shrunk for small counts', async (t) => {
    const items = itemsOf(await get(mug));
    // n(mug) = 6 + 3 + 5 + 4 + 2 = 20 customers; n(tea) = 6; c = 6; shrinkage 6 / (6 + 5).
    t.equal(items[0]!.score.toFixed(6), ((6 / Math.sqrt(20 * 6)) * (6 / 11)).toFixed(6));
    t.equal(items[1]!.score.toFixed(6), ((3 / Math.sqrt(20 * 3)) * (3 / 8)).toFixed(6));
  });

  t.test('a product nobody bought gets popular products of its category first', async (t) => {
    const items = itemsOf(await get(lonely));
    t.same(items.map((item) => item.reason), items.map(() => 'popular'));
    // Spoon and Teapot have 3 customer-orders each; the teapot's are more recent, so weigh more.
    t.same(items.map((item) => item.product.name).slice(0, 4), ['Mug', 'Tea', 'Teapot', 'Spoon']);
    t.equal(items.at(-1)!.product.name, 'Hose', 'then the rest of the shop');
  });

  t.test('limit: 1 to 50, default 10', async (t) => {
    t.equal(itemsOf(await get(mug, '?limit=1')).length, 1);
    t.same(itemsOf(await get(mug, '?limit=1')).map((item) => item.product.id), [tea], 'the best one');
    t.equal(itemsOf(await get(mug, '?limit=50')).length, 4, 'no more than there is');
    for (const bad of ['0', '51', '-1', '2.5', 'ten']) {
      const response = await get(mug, `?limit=${bad}`);
      t.equal(response.statusCode, 400, `limit=${bad}`);
      t.equal(problemOf(response).code, 'REQUEST_VALIDATION_FAILED');
      t.match(response.headers['content-type'], /^application\/problem\+json/);
    }
    t.equal((await get(mug, '?other=1')).statusCode, 400, 'unknown parameters are refused');
    const many = randomUUID();
    for (let index = 0; index < 12; index += 1) await boughtTogether(shop, 1, [await shop.product({ categoryId: many })]);
    t.equal(itemsOf(await get(await shop.product({ categoryId: many }))).length, 10, 'ten by default');
  });

  t.test('404 for an unknown, deleted or malformed product', async (t) => {
    for (const id of [randomUUID(), saucer]) {
      const response = await get(id);
      t.equal(response.statusCode, 404);
      t.equal(problemOf(response).code, 'RECOMMENDATIONS_PRODUCT_NOT_FOUND');
    }
    t.equal((await get('not-a-uuid')).statusCode, 404);
  });

  t.test('anonymous or signed in: the same list; a bad token is refused', async (t) => {
    const anonymous = itemsOf(await get(mug));
    const signedIn = await get(mug, '', bearer(await issuer.tokenFor({ userId: randomUUID() })));
    t.equal(signedIn.statusCode, 200);
    const shape = (items: ItemJson[]) => items.map((item) => [item.product.id, item.reason]);
    t.same(shape(itemsOf(signedIn)), shape(anonymous), 'the same products for the same reasons (popularity decays by the millisecond)');
    const refused = await get(mug, '', bearer('not.a.token'));
    t.equal(refused.statusCode, 401, 'credentials sent are checked, even on a public route');
    t.equal(problemOf(refused).code, 'AUTH_TOKEN_INVALID');
  });
});

t.test('GET /v1/recommendations', async (t) => {
  const { app, shop, issuer } = await build(t);
  const get = async (token?: string, query = '') =>
    app.inject({ method: 'GET', url: `/v1/recommendations${query}`, headers: token ? bearer(token) : {} });

  const [book, lamp, chair, desk, pen, rug] = (await Promise.all(['Book', 'Lamp', 'Chair', 'Desk', 'Pen', 'Rug'].map((name) => shop.product({ name })))) as [
    string, string, string, string, string, string,
  ];
  await shop.product({ name: 'Sold out', stock: 0 });
  await boughtTogether(shop, 4, [book, lamp]);
  await boughtTogether(shop, 3, [chair, desk]);
  await boughtTogether(shop, 3, [book, pen]);
  await boughtTogether(shop, 5, [rug]);

  t.test('anonymous: 401 with a challenge', async (t) => {
    const response = await get();
    t.equal(response.statusCode, 401);
    t.equal(problemOf(response).code, 'AUTH_TOKEN_MISSING');
    t.match(response.headers['www-authenticate'], /^Bearer/);
  });

  t.test('no orders yet: popular products', async (t) => {
    const newcomer = await issuer.tokenFor({ userId: randomUUID() });
    const response = await get(newcomer);
    t.equal(response.statusCode, 200);
    const items = response.json().items as ItemJson[];
    t.same(items.map((item) => item.reason), items.map(() => 'popular'));
    // Book 7 customer-orders, Rug 5, Lamp 4; Pen's 3 are more recent than Chair's and Desk's (a tie).
    t.same(items.map((item) => item.product.name).slice(0, 4), ['Book', 'Rug', 'Lamp', 'Pen']);
    t.same(items.map((item) => item.product.name).slice(4).sort(), ['Chair', 'Desk']);
  });

  t.test('from their orders: like what they bought, never what they bought', async (t) => {
    const reader = randomUUID();
    await shop.order(reader, [book]);
    const response = await get(await issuer.tokenFor({ userId: reader }));
    const items = response.json().items as ItemJson[];
    t.same(
      items.map((item) => [item.product.name, item.reason]).slice(0, 3),
      [
        ['Lamp', 'similar-to-your-orders'],
        ['Pen', 'similar-to-your-orders'],
        ['Rug', 'popular'],
      ],
    );
    t.same(items.slice(3).map((item) => item.product.name).sort(), ['Chair', 'Desk'], 'then the other popular products (a tie)');
    t.notOk(items.some((item) => item.product.id === book), 'not what they bought');
    t.equal((await get(await issuer.tokenFor({ userId: reader }), '?limit=1')).json().items.length, 1);
    t.equal((await get(await issuer.tokenFor({ userId: reader }), '?limit=51')).statusCode, 400);
  });

  t.test('similarities of several purchases add up', async (t) => {
    const owner = randomUUID();
    await shop.order(owner, [lamp]);
    await shop.order(owner, [pen]);
    const items = (await get(await issuer.tokenFor({ userId: owner }))).json().items as ItemJson[];
    t.equal(items[0]!.product.name, 'Book', 'bought with both the lamp and the pen');
    t.equal(items[0]!.reason, 'similar-to-your-orders');
  });
});

t.test('a cancelled order withdraws exactly what it added', async (t) => {
  const { app, shop } = await build(t);
  const [a, b] = [await shop.product(), await shop.product()] as const;
  await boughtTogether(shop, 2, [a, b]);
  const snapshot = async () =>
    Promise.all(
      ['user_items', 'user_pairs', 'item_stats', 'pair_counts'].map((table) => app.db.query(`SELECT * FROM ${table} ORDER BY 1, 2${table.startsWith('user') ? ', 3' : ''}`)),
    );
  const before = await snapshot();
  const reasons = async () => ((await app.inject({ method: 'GET', url: `/v1/products/${a}/recommendations` })).json().items as ItemJson[]).map((item) => item.reason);
  t.same(await reasons(), ['popular']);

  const third = randomUUID();
  const order = await shop.order(third, [a, b], new Date(Date.now() - 3 * 86_400_000));
  t.same(await reasons(), ['bought-together'], 'the third customer makes the pair count');
  await shop.cancel(order, third);
  t.same(await reasons(), ['popular'], 'withdrawn');
  t.same(await snapshot(), before, 'every count and the popularity back to the last digit');

  await shop.cancel(order, third);
  t.same(await snapshot(), before, 'a second cancellation changes nothing');

  const early = randomUUID();
  const fourth = randomUUID();
  await shop.cancel(early, fourth);
  const late = await app.db.query(`SELECT counted FROM order_facts WHERE order_id = $1`, [early]);
  t.same(late, [{ counted: false }], 'a cancellation that arrives first is remembered');
});

t.test('privacy: a pair is used only once enough distinct customers bought it together', async (t) => {
  const { app, shop } = await build(t, { MIN_PAIR_CUSTOMERS: '3' });
  const [gift, card] = [await shop.product({ name: 'Gift' }), await shop.product({ name: 'Card' })] as const;
  const reasonsFor = async () =>
    ((await app.inject({ method: 'GET', url: `/v1/products/${gift}/recommendations` })).json().items as ItemJson[]).map((item) => `${item.product.name}:${item.reason}`);

  const alice = randomUUID();
  for (let repeat = 0; repeat < 5; repeat += 1) await shop.order(alice, [gift, card]);
  t.same(await reasonsFor(), ['Card:popular'], 'one customer, however many orders: not revealed as bought together');
  await shop.order(randomUUID(), [gift, card]);
  t.same(await reasonsFor(), ['Card:popular'], 'two customers: still not');
  await shop.order(randomUUID(), [gift, card]);
  t.same(await reasonsFor(), ['Card:bought-together'], 'three customers: an aggregate');

  t.test('the threshold applies to personal recommendations too', async (t) => {
    const { app, shop, issuer } = await build(t, { MIN_PAIR_CUSTOMERS: '3' });
    const [x, y] = [await shop.product({ name: 'X' }), await shop.product({ name: 'Y' })] as const;
    const bob = randomUUID();
    await shop.order(bob, [x, y]);
    const carol = randomUUID();
    await shop.order(carol, [x]);
    const items = (await app.inject({ method: 'GET', url: '/v1/recommendations', headers: bearer(await issuer.tokenFor({ userId: carol })) })).json().items as ItemJson[];
    t.same(items.map((item) => `${item.product.name}:${item.reason}`), ['Y:popular'], "Bob's basket does not make Y similar to Carol's X");
  });
});
