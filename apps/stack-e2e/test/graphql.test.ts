import { randomUUID } from 'node:crypto';
import t from 'tap';
import { probeUntil } from '@shop/testing';
import { WebSocket } from 'ws';
import { ApiClient, bearer, createCategory, createProduct, newSku, setUpActors } from './support/client';
import { fuzzGraphql } from './support/fuzz/graphql-fuzzer';
import { GENEROUS_LIMITS, startStack } from './stack';

interface GraphqlError {
  message: string;
  path?: (string | number)[];
  extensions: { code: string; status: number };
}
interface Answer<T = Record<string, unknown>> {
  status: number;
  data: T | null;
  errors: GraphqlError[] | undefined;
}

/**
 * GraphQL through the whole stack over real sockets: every root field and mutation against its
 * REST twin (same answers, same refusals, same ownership), paging while rows change, the
 * subscription, and a fuzzing pass.
 */
t.test('GraphQL through the gateway', async (t) => {
  const stack = await startStack(t, { env: GENEROUS_LIMITS });
  const client = new ApiClient(stack.gatewayUrl);
  const actors = await setUpActors(client, stack.admin);
  const admin = bearer(actors.admin.token);
  const alice = bearer(actors.customer.token);
  const bob = bearer(actors.other.token);

  const graphql = async <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Answer<T>> => {
    const response = await client.send({ method: 'POST', path: '/graphql', headers, body: { query, variables } });
    const body = response.json as { data?: T | null; errors?: GraphqlError[] };
    return { status: response.status, data: body.data ?? null, errors: body.errors };
  };
  const rest = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => client.send({ method, path, headers, ...(body === undefined ? {} : { body }) });
  const codeOf = (answer: Answer) => answer.errors?.[0]?.extensions.code;

  const category = await createCategory(client, actors.admin.token);
  const product = await createProduct(client, actors.admin.token, { categoryId: category.id, tags: ['graphql-e2e'] });

  t.test('reads: the same resources as REST, plus their relations', async (t) => {
    const restProduct = (await rest('GET', `/v1/products/${product.id}`)).json as Record<string, unknown>;
    const fields = Object.keys(restProduct).join(' ');
    const answer = await graphql<{ product: Record<string, unknown> & { category: { id: string } } }>(`query ($id: ID!) { product(id: $id) { ${fields} category { id slug } } }`, { id: product.id });
    t.notOk(answer.errors);
    const { category: productCategory, ...rest_ } = answer.data!.product;
    t.same(rest_, restProduct, 'every REST field, same values');
    t.equal(productCategory.id, category.id);
    t.same((await graphql('query ($id: ID!) { product(id: $id) { id } }', { id: randomUUID() })).data, { product: null });
    t.same((await graphql('{ product(id: "not-a-uuid") { id } }')).data, { product: null }, 'a malformed id is a missing one, as REST says 404');

    const restCategory = (await rest('GET', `/v1/categories/${category.id}`)).json;
    t.same((await graphql('query ($id: ID!) { category(id: $id) { id name slug description createdAt updatedAt } }', { id: category.id })).data, { category: restCategory });

    const restList = (await rest('GET', '/v1/products?q=graphql-e2e&limit=5&sort=name')).json as { items: { id: string }[] };
    const list = await graphql<{ products: { edges: { node: { id: string } }[] } }>('{ products(first: 5, q: "graphql-e2e", sort: "name") { edges { node { id } } } }');
    t.same(list.data!.products.edges.map((edge) => edge.node.id), restList.items.map((item) => item.id));
    const filtered = await graphql<{ products: { edges: { node: { id: string } }[] } }>('query ($c: ID) { products(first: 100, filter: { categoryId: $c, inStock: true, minPrice: 1250, maxPrice: 1250 }) { edges { node { id } } } }', { c: category.id });
    t.same(filtered.data!.products.edges.map((edge) => edge.node.id), [product.id]);
    const badSort = await graphql('{ products(sort: "weight") { edges { node { id } } } }');
    t.equal(codeOf(badSort), 'REQUEST_VALIDATION_FAILED', "the catalog's own validation, as on REST");

    const categories = await graphql<{ categories: { edges: unknown[] } }>('{ categories(first: 100) { edges { node { id } } pageInfo { hasNextPage } } }');
    t.ok(categories.data!.categories.edges.length >= 1);

    const me = await graphql('{ me { id email name role createdAt } }', {}, alice);
    t.same(me.data, { me: (await rest('GET', '/v1/auth/me', alice)).json });
    const anonymousMe = await graphql('{ me { id } }');
    t.same([anonymousMe.data, codeOf(anonymousMe), anonymousMe.errors?.[0]?.extensions.status], [{ me: null }, 'AUTH_TOKEN_MISSING', 401]);
    const invalid = await graphql('{ products { edges { node { id } } } }', {}, bearer('forged.token.value'));
    t.equal(invalid.status, 401, 'an invalid token is refused with 401, as on REST');
    t.equal(codeOf(invalid), 'AUTH_TOKEN_INVALID');
    const withKey = await graphql('{ orders(first: 1) { edges { node { id } } } }', {}, { 'x-api-key': actors.apiKey.key });
    t.notOk(withKey.errors, 'an API key works as on REST');
  });

  t.test('orders: ownership as REST, idempotency and waiting as REST', async (t) => {
    const input = { items: [{ productId: product.id, quantity: 1 }] };
    const anonymousOrder = await graphql('mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }', { input });
    t.same([codeOf(anonymousOrder), anonymousOrder.errors?.[0]?.extensions.status], ['AUTH_TOKEN_MISSING', 401]);
    t.equal((await rest('POST', '/v1/orders', {}, input)).status, 401);
    const place = 'mutation ($input: PlaceOrderInput!, $key: String) { placeOrder(input: $input, idempotencyKey: $key, waitSeconds: 5) { id userId status totalCents items { productId quantity product { id name } } } }';
    const placed = await graphql<{ placeOrder: { id: string; userId: string; status: string; items: { product: { id: string } }[] } }>(place, { input, key: 'gql-key-1' }, alice);
    t.notOk(placed.errors);
    const order = placed.data!.placeOrder;
    t.equal(order.status, 'confirmed', 'waitSeconds waited until the order left pending');
    t.equal(order.userId, actors.customer.id);
    t.equal(order.items[0]!.product.id, product.id);
    const replayed = await graphql<{ placeOrder: { id: string } }>(place, { input, key: 'gql-key-1' }, alice);
    t.equal(replayed.data!.placeOrder.id, order.id, 'the same key replays the first answer');
    const reused = await graphql(place, { input: { items: [{ productId: product.id, quantity: 2 }] }, key: 'gql-key-1' }, alice);
    t.same([codeOf(reused), reused.errors?.[0]?.extensions.status], ['ORDERS_IDEMPOTENCY_KEY_REUSED', 422]);

    const read = 'query ($id: ID!) { order(id: $id) { id status } }';
    t.same((await graphql(read, { id: order.id }, alice)).data, { order: { id: order.id, status: 'confirmed' } });
    const asBob = await graphql(read, { id: order.id }, bob);
    t.same([asBob.data, asBob.errors], [{ order: null }, undefined], "someone else's order is null, as REST's 404");
    t.equal((await rest('GET', `/v1/orders/${order.id}`, bob)).status, 404);
    t.same((await graphql(read, { id: order.id }, admin)).data, { order: { id: order.id, status: 'confirmed' } }, 'orders:read:all sees it');

    const bobsList = await graphql<{ orders: { edges: { node: { id: string } }[] } }>('{ orders(first: 100) { edges { node { id } } } }', {}, bob);
    t.notOk(bobsList.data!.orders.edges.some((edge) => edge.node.id === order.id));
    const restAlice = (await rest('GET', '/v1/orders?limit=100', alice)).json as { items: { id: string }[] };
    const alicesList = await graphql<{ orders: { edges: { node: { id: string } }[] } }>('{ orders(first: 100) { edges { node { id } } } }', {}, alice);
    t.same(alicesList.data!.orders.edges.map((edge) => edge.node.id), restAlice.items.map((item) => item.id));
    const filteredByUser = await graphql<{ orders: { edges: { node: { userId: string } }[] } }>('query ($u: ID) { orders(first: 100, userId: $u, status: confirmed) { edges { node { userId } } } }', { u: actors.customer.id }, admin);
    t.ok(filteredByUser.data!.orders.edges.every((edge) => edge.node.userId === actors.customer.id));

    const cancel = 'mutation ($id: ID!) { cancelOrder(id: $id) { id status } }';
    const bobCancels = await graphql(cancel, { id: order.id }, bob);
    t.same([codeOf(bobCancels), bobCancels.errors?.[0]?.extensions.status], ['ORDERS_ORDER_NOT_FOUND', 404]);
    t.same((await graphql(cancel, { id: order.id }, alice)).data, { cancelOrder: { id: order.id, status: 'cancelled' } });
    const again = await graphql(cancel, { id: order.id }, alice);
    t.same([codeOf(again), again.errors?.[0]?.extensions.status], ['ORDERS_NOT_CANCELLABLE', 409]);
    t.equal((await rest('POST', `/v1/orders/${order.id}/cancel`, alice)).status, 409);
  });

  t.test('product writes need catalog:write, as on REST; a deleted product is null on an order line', async (t) => {
    const create = 'mutation ($input: ProductInput!) { createProduct(input: $input) { id sku stock } }';
    const input = { sku: newSku(), name: 'GraphQL mug', priceCents: 900, stock: 3 };
    const refused = await graphql(create, { input }, alice);
    t.same([codeOf(refused), refused.errors?.[0]?.extensions.status], ['AUTH_SCOPE_REQUIRED', 403]);
    t.equal((await rest('POST', '/v1/products', alice, input)).status, 403);
    const created = await graphql<{ createProduct: { id: string } }>(create, { input }, admin);
    t.notOk(created.errors);
    const id = created.data!.createProduct.id;
    const taken = await graphql(create, { input }, admin);
    t.same([codeOf(taken), taken.errors?.[0]?.extensions.status], ['CATALOG_SKU_TAKEN', 409]);
    const invalid = await graphql(create, { input: { ...input, sku: newSku(), priceCents: -1 } }, admin);
    t.equal(codeOf(invalid), 'REQUEST_VALIDATION_FAILED');

    const update = 'mutation ($id: ID!) { updateProduct(id: $id, input: { name: "Renamed", description: null }) { name description } }';
    t.equal(codeOf(await graphql(update, { id }, alice)), 'AUTH_SCOPE_REQUIRED');
    t.equal((await rest('PATCH', `/v1/products/${id}`, alice, { name: 'Renamed' })).status, 403);
    const anonymousUpdate = await graphql(update, { id });
    t.same([codeOf(anonymousUpdate), anonymousUpdate.errors?.[0]?.extensions.status], ['AUTH_TOKEN_MISSING', 401]);
    const updated = await graphql(update, { id }, admin);
    t.same(updated.data, { updateProduct: { name: 'Renamed', description: null } });
    t.equal(((await rest('GET', `/v1/products/${id}`)).json as { name: string }).name, 'Renamed');

    const placed = await graphql<{ placeOrder: { id: string } }>('mutation ($id: ID!) { placeOrder(input: { items: [{ productId: $id, quantity: 1 }] }, waitSeconds: 5) { id } }', { id }, alice);
    t.same((await graphql('mutation ($id: ID!) { deleteProduct(id: $id) }', { id }, alice)).errors?.[0]?.extensions.code, 'AUTH_SCOPE_REQUIRED');
    t.same((await graphql('mutation ($id: ID!) { deleteProduct(id: $id) }', { id }, admin)).data, { deleteProduct: true });
    t.equal((await rest('GET', `/v1/products/${id}`)).status, 404);
    const line = await graphql<{ order: { items: { productId: string; product: unknown }[] } }>('query ($id: ID!) { order(id: $id) { items { productId product { id } } } }', { id: placed.data!.placeOrder.id }, alice);
    t.same(line.data!.order.items, [{ productId: id, product: null }]);
  });

  t.test('recommendations: the same lists as REST', async (t) => {
    const restItems = (await rest('GET', `/v1/products/${product.id}/recommendations?limit=3`)).json as { items: { product: { id: string } }[] };
    const answer = await graphql<{ product: { recommendations: { product: { id: string } }[] } }>('query ($id: ID!) { product(id: $id) { recommendations(first: 3) { score reason product { id } } } }', { id: product.id });
    t.same(answer.data!.product.recommendations.map((item) => item.product.id), restItems.items.map((item) => item.product.id));
    const personal = (await rest('GET', '/v1/recommendations?limit=5', alice)).json as { items: { product: { id: string } }[] };
    const mine = await graphql<{ recommendedProducts: { product: { id: string } }[] }>('{ recommendedProducts(first: 5) { product { id } } }', {}, alice);
    t.same(mine.data!.recommendedProducts.map((item) => item.product.id), personal.items.map((item) => item.product.id));
    const anonymous = await graphql('{ recommendedProducts { score } }');
    t.equal(codeOf(anonymous), 'AUTH_TOKEN_MISSING');
  });

  t.test('paging through products while they change never repeats or skips one', async (t) => {
    const tag = `page-${randomUUID().slice(0, 8)}`;
    const original = [];
    for (let index = 0; index < 7; index += 1) original.push((await createProduct(client, actors.admin.token, { tags: [tag] })).id);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page += 1) {
      const answer: Answer<{ products: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }> = await graphql(
        'query ($q: String, $after: String) { products(first: 2, q: $q, after: $after, sort: "createdAt") { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { q: tag, after },
      );
      seen.push(...answer.data!.products.edges.map((edge) => edge.node.id));
      // Between pages: a new product arrives and one already seen goes.
      await createProduct(client, actors.admin.token, { tags: [tag] });
      if (page === 0) await rest('DELETE', `/v1/products/${original[0]}`, admin);
      if (!answer.data!.products.pageInfo.hasNextPage) break;
      after = answer.data!.products.pageInfo.endCursor;
    }
    t.equal(new Set(seen).size, seen.length, 'no product twice');
    t.ok(original.every((id) => seen.includes(id)), 'every product that existed throughout was seen');
  });

  t.test('orderUpdated: the caller sees their own orders change, over graphql-transport-ws', async (t) => {
    const url = `${stack.gatewayUrl.replace('http', 'ws')}/graphql`;
    const connect = (token: string) => {
      const socket = new WebSocket(url, 'graphql-transport-ws');
      const updates: { id: string; status: string }[] = [];
      const acked = new Promise<void>((resolve, reject) => {
        socket.on('message', (data) => {
          const message = JSON.parse(data.toString()) as { type: string; payload?: { data?: { orderUpdated: { id: string; status: string } } } };
          if (message.type === 'connection_ack') {
            socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { orderUpdated { id status } }' } }));
            resolve();
          }
          if (message.type === 'next' && message.payload?.data) updates.push(message.payload.data.orderUpdated);
        });
        socket.once('error', reject);
        socket.once('close', (code) => reject(new Error(`closed ${code}`)));
      });
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
      t.teardown(() => socket.close());
      return { acked, updates };
    };
    const alicesFeed = connect(actors.customer.token);
    const bobsFeed = connect(actors.other.token);
    await Promise.all([alicesFeed.acked, bobsFeed.acked]);
    const placeOrder = async (headers: Record<string, string>) =>
      ((await rest('POST', '/v1/orders', { ...headers, prefer: 'wait=10' }, { items: [{ productId: product.id, quantity: 1 }] })).json as { id: string }).id;
    // The orders socket behind a subscription opens some time after the subscribe message, and
    // nothing says when; a change made before it is open is never heard of. So each feed is shown
    // live first, by one of its user's throwaway orders heard on it (another every second until
    // one is): Alice's so that her order below can be heard, Bob's so that "nobody else hears of
    // it" is checked on a feed that would carry it.
    const live = async (feed: { updates: { id: string }[] }, headers: Record<string, string>) => {
      const throwaway: string[] = [];
      const heard = () => feed.updates.some((update) => throwaway.includes(update.id));
      const deadline = Date.now() + 15_000;
      while (!heard() && Date.now() < deadline) {
        throwaway.push(await placeOrder(headers));
        await probeUntil(heard, Boolean, 1_000);
      }
      return heard();
    };
    t.ok(await live(alicesFeed, alice), "Alice's feed is live");
    t.ok(await live(bobsFeed, bob), "Bob's feed is live");
    const placed = (await rest('POST', '/v1/orders', { ...alice, prefer: 'wait=10' }, { items: [{ productId: product.id, quantity: 1 }] })).json as { id: string };
    const deadline = Date.now() + 15_000;
    while (!alicesFeed.updates.some((update) => update.id === placed.id && update.status === 'confirmed') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    t.ok(alicesFeed.updates.some((update) => update.id === placed.id && update.status === 'confirmed'), 'the owner hears of the change');
    t.notOk(bobsFeed.updates.some((update) => update.id === placed.id), 'nobody else does');

    const refused = new WebSocket(url, 'graphql-transport-ws');
    refused.once('open', () => refused.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer forged.token.value' } })));
    const closeCode = await new Promise<number>((resolve) => refused.once('close', resolve));
    t.equal(closeCode, 4401);
  });

  t.test('limits: a query over them is refused before it runs', async (t) => {
    const deep = await graphql(`{ product(id: "${product.id}") ${'{ recommendations { product '.repeat(5)}{ id }${' } }'.repeat(5)} }`);
    t.same([deep.status, codeOf(deep)], [400, 'GRAPHQL_QUERY_TOO_COMPLEX']);
    const wide = await graphql('{ products(first: 101) { edges { node { id } } } }');
    t.same([wide.status, codeOf(wide)], [400, 'GRAPHQL_QUERY_TOO_COMPLEX']);
  });

  t.test('fuzzing: no input gets a 5xx, every error has a code from the table', async (t) => {
    const seed = Number(process.env.FUZZ_SEED ?? 20_261_128);
    const statuses = await fuzzGraphql(client, { customer: actors.customer.token, admin: actors.admin.token }, { runs: Number(process.env.GRAPHQL_FUZZ_RUNS ?? 300), seed });
    t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}, seed ${seed}`);
    t.ok((statuses.get(200) ?? 0) > 0, 'some requests ran');
    t.ok((statuses.get(400) ?? 0) > 0, 'some were refused');
  });
});
