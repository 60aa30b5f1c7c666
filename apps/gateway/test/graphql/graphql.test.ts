import { randomUUID } from 'node:crypto';
import type { Order, Product } from '@shop/contracts';
import type { Teardown } from '@shop/testing';
import t from 'tap';
import { bearer, buildGateway } from '../helper';
import { orderWith, productWith, startCatalog, startOrders } from './graphql-fakes';

interface GraphqlAnswer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: string[]; extensions: { code: string; status: number; errors?: { path: string; message: string }[] } }[];
}

async function setUp(t: Teardown, env: Record<string, string> = {}) {
  const products = new Map<string, Product>();
  const orders: Order[] = [];
  const catalog = await startCatalog(t, products);
  const ordersService = await startOrders(t, orders);
  const gateway = await buildGateway(t, { catalog: catalog.url, orders: ordersService.url, env });
  const upstreamCalls = () => [...catalog.seen, ...ordersService.seen].filter((seen) => !seen.url.startsWith('/health'));
  const post = async (query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
    const response = await gateway.app.inject({ method: 'POST', url: '/graphql', payload: { query, variables }, headers });
    return { status: response.statusCode, headers: response.headers, body: response.json<GraphqlAnswer>() };
  };
  return { ...gateway, products, orders, catalog, ordersService, upstreamCalls, post };
}

t.test('the schema is served, and GraphiQL only when configured', async (t) => {
  const { app } = await setUp(t);
  const schema = await app.inject({ method: 'GET', url: '/graphql/schema.graphql' });
  t.equal(schema.statusCode, 200);
  t.match(schema.body, /type Query \{[^}]*products\(first: Int = 20, after: String, q: String, filter: ProductFilter, sort: String\): ProductConnection/);
  t.match(schema.body, /type Subscription \{[^}]*orderUpdated: Order!/);
  t.equal((await app.inject({ method: 'GET', url: '/graphiql' })).statusCode, 404);

  const enabled = await setUp(t, { GRAPHQL_GRAPHIQL: 'true' });
  t.equal((await enabled.app.inject({ method: 'GET', url: '/graphiql' })).statusCode, 200);
});

t.test('product(id) reads through the catalog; a missing product is null', async (t) => {
  const { products, post, app } = await setUp(t);
  const id = randomUUID();
  products.set(id, productWith(id, { name: 'Sencha', tags: ['green'] }));
  const found = await post('query ($id: ID!) { product(id: $id) { id name tags priceCents createdAt } }', { id });
  t.equal(found.status, 200);
  t.same(found.body.data, { product: { id, name: 'Sencha', tags: ['green'], priceCents: 1250, createdAt: '2026-11-28T10:00:00.000Z' } });
  const missing = await post('query ($id: ID!) { product(id: $id) { id } }', { id: randomUUID() });
  t.same(missing.body, { data: { product: null } });

  const viaGet = await app.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent(`{ product(id: "${id}") { name } }`)}` });
  t.same(viaGet.json(), { data: { product: { name: 'Sencha' } } });
  const mutationViaGet = await app.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent('mutation { deleteProduct(id: "x") }')}` });
  t.equal(mutationViaGet.statusCode, 405);
  t.equal(mutationViaGet.json<GraphqlAnswer>().errors?.[0]?.extensions.code, 'METHOD_NOT_ALLOWED');
});

t.test('credentials: refused at the edge as on REST, forwarded to the services otherwise', async (t) => {
  const { post, issuer, orders, upstreamCalls } = await setUp(t);
  const invalid = await post('{ products { edges { node { id } } } }', {}, bearer('not-a-token'));
  t.equal(invalid.status, 401, 'an invalid token is a 401 even for public fields');
  t.equal(invalid.body.errors?.[0]?.extensions.code, 'AUTH_TOKEN_INVALID');
  t.match(invalid.headers['www-authenticate'], /^Bearer /);

  const anonymous = await post('{ me { id } orders { edges { node { id } } } }');
  t.equal(anonymous.status, 200);
  t.same(anonymous.body.data, { me: null, orders: null });
  t.same(
    anonymous.body.errors?.map((error) => [error.path, error.extensions.code, error.extensions.status]),
    [
      [['me'], 'AUTH_TOKEN_MISSING', 401],
      [['orders'], 'AUTH_TOKEN_MISSING', 401],
    ],
  );
  t.equal(upstreamCalls().length, 0, 'anonymous calls to protected fields never reach a service');

  const alice = randomUUID();
  const bob = randomUUID();
  const alicesOrder = orderWith(alice, []);
  orders.push(alicesOrder);
  const query = 'query ($id: ID!) { order(id: $id) { id userId } }';
  const asAlice = await post(query, { id: alicesOrder.id }, bearer(await issuer.tokenFor({ userId: alice })));
  t.same(asAlice.body.data, { order: { id: alicesOrder.id, userId: alice } });
  const asBob = await post(query, { id: alicesOrder.id }, bearer(await issuer.tokenFor({ userId: bob })));
  t.same(asBob.body, { data: { order: null } }, "someone else's order is null, with no error that reveals it");
  const forwarded = upstreamCalls().filter((seen) => seen.url === `/v1/orders/${alicesOrder.id}`);
  t.equal(forwarded.length, 2);
  t.match(forwarded[0]!.headers.authorization, /^Bearer /, "the caller's own token reaches the service");
});

t.test('no N+1: 20 orders of 5 lines ask the catalog once', async (t) => {
  const { post, issuer, orders, products, catalog } = await setUp(t);
  const userId = randomUUID();
  for (let index = 0; index < 20; index += 1) {
    const ids = Array.from({ length: 5 }, () => randomUUID());
    // One product of each order is deleted: its line's product is null.
    for (const id of ids.slice(1)) products.set(id, productWith(id));
    orders.push(orderWith(userId, ids));
  }
  const before = catalog.seen.length;
  const answer = await post('{ orders(first: 20) { edges { node { id items { productId product { id name } } } } } }', {}, bearer(await issuer.tokenFor({ userId })));
  t.notOk(answer.body.errors);
  const edges = (answer.body.data!.orders as { edges: { node: { items: { productId: string; product: { id: string } | null }[] } }[] }).edges;
  t.equal(edges.length, 20);
  const lines = edges.flatMap((edge) => edge.node.items);
  t.equal(lines.length, 100);
  t.equal(lines.filter((line) => line.product === null).length, 20, 'a deleted product is null');
  t.ok(lines.every((line) => line.product === null || line.product.id === line.productId));
  const catalogCalls = catalog.seen.slice(before);
  t.equal(catalogCalls.length, 1, 'one batch read for 100 lines');
  t.match(catalogCalls[0]!.url, /^\/v1\/products\?ids=/);

  // A page of products in 10 categories asks for their categories once.
  const categoryIds = Array.from({ length: 10 }, () => randomUUID());
  for (const [index, id] of [...products.keys()].entries()) products.set(id, productWith(id, { categoryId: categoryIds[index % 10]! }));
  const beforePage = catalog.seen.length;
  const page = await post('{ products(first: 40) { edges { node { id category { id name } } } } }');
  t.notOk(page.body.errors);
  const nodes = (page.body.data!.products as { edges: { node: { category: { id: string } | null } }[] }).edges.map((edge) => edge.node);
  t.equal(nodes.filter((node) => node.category !== null).length, 40);
  const pageCalls = catalog.seen.slice(beforePage).map((seen) => seen.url);
  t.equal(pageCalls.length, 2, 'the page, then one batch read of its categories');
  t.match(pageCalls[1], /^\/v1\/categories\?ids=/);
});

t.test('paging with first/after while products are added and removed', async (t) => {
  const { post, products } = await setUp(t);
  const ids = Array.from({ length: 9 }, () => randomUUID()).sort();
  for (const id of ids) products.set(id, productWith(id));
  const seen: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 10; page += 1) {
    const answer = await post('query ($after: String) { products(first: 3, after: $after) { edges { node { id } cursor } pageInfo { hasNextPage endCursor } } }', { after });
    const connection = answer.body.data!.products as { edges: { node: { id: string }; cursor: string | null }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    seen.push(...connection.edges.map((edge) => edge.node.id));
    if (connection.pageInfo.hasNextPage) t.equal(connection.edges.at(-1)!.cursor, connection.pageInfo.endCursor, 'the last edge carries the page cursor');
    if (page === 0) {
      // Rows change between pages: one already read goes, a new one comes.
      products.delete(ids[0]!);
      const added = randomUUID();
      products.set(added, productWith(added));
    }
    if (!connection.pageInfo.hasNextPage) break;
    after = connection.pageInfo.endCursor;
  }
  t.equal(new Set(seen).size, seen.length, 'nothing repeated');
  t.ok(ids.every((id) => seen.includes(id)), 'nothing that existed throughout was skipped');
});

t.test('errors carry the service problem code and status, never internals', async (t) => {
  const { post, issuer } = await setUp(t);
  const admin = bearer(await issuer.tokenFor({ role: 'admin' }));
  const taken = await post('mutation ($input: ProductInput!) { createProduct(input: $input) { id } }', { input: { sku: 'TAKEN', name: 'X', priceCents: 1, stock: 1 } }, admin);
  t.equal(taken.status, 200);
  t.same(taken.body.data, { createProduct: null });
  t.equal(taken.body.errors?.[0]?.extensions.code, 'CATALOG_SKU_TAKEN');
  t.equal(taken.body.errors?.[0]?.extensions.status, 409);

  const invalid = await post('{ product(id: 1, nope: 2) { id } }');
  t.equal(invalid.status, 400);
  t.equal(invalid.body.errors?.[0]?.extensions.code, 'REQUEST_VALIDATION_FAILED');
  t.ok((invalid.body.errors?.[0]?.extensions.errors?.length ?? 0) > 0, 'validation errors list each problem');

  const unreachable = await buildGateway(t);
  const response = await unreachable.app.inject({ method: 'POST', url: '/graphql', payload: { query: '{ products { edges { node { id } } } }' } });
  const answer = response.json<GraphqlAnswer>();
  t.equal(answer.errors?.[0]?.extensions.code, 'GATEWAY_UPSTREAM_UNAVAILABLE');
  t.equal(answer.errors?.[0]?.extensions.status, 503);
  t.notMatch(response.body, /127\.0\.0\.1|ECONNREFUSED|at .*\.ts/, 'no address, low-level error or stack');

  for (const payload of [{ query: '' }, { query: '   ' }, {}, { query: 5 }, { query: '-11' }, { query: '{ product(' }, { query: '{"kind":"Document","definitions":[]}' }, { query: 'subscription { orderUpdated { id } }' }]) {
    const empty = await unreachable.app.inject({ method: 'POST', url: '/graphql', payload });
    t.equal(empty.statusCode, 400, JSON.stringify(payload));
    t.equal(empty.json<GraphqlAnswer>().errors?.[0]?.extensions.code, 'REQUEST_VALIDATION_FAILED');
  }
  for (const url of ['/graphql', '/graphql?query=-11&operationName=null', '/graphql?query=%7B']) {
    const badGet = await unreachable.app.inject({ method: 'GET', url });
    t.equal(badGet.statusCode, 400, url);
    t.equal(badGet.json<GraphqlAnswer>().errors?.[0]?.extensions.code, 'REQUEST_VALIDATION_FAILED');
  }
  const unstorable = await unreachable.app.inject({ method: 'POST', url: '/graphql', payload: '{"query":"{ product(id: \\"\\ud800\\") { id } }"}', headers: { 'content-type': 'application/json' } });
  t.equal(unstorable.statusCode, 400);
  t.match(unstorable.headers['content-type'], /^application\/json/);
  t.match(unstorable.json<GraphqlAnswer>(), { data: null, errors: [{ extensions: { code: 'REQUEST_VALIDATION_FAILED', status: 400, errors: [{ path: '/body/query' }] } }] });
  const twoOperations = encodeURIComponent('query A { __typename } query B { __typename }');
  for (const url of [`/graphql?query=${twoOperations}`, `/graphql?query=${twoOperations}&operationName=C`]) {
    const unnamed = await unreachable.app.inject({ method: 'GET', url });
    t.equal(unnamed.statusCode, 400, url);
    t.equal(unnamed.json<GraphqlAnswer>().errors?.[0]?.extensions.code, 'REQUEST_VALIDATION_FAILED');
  }
  const named = await unreachable.app.inject({ method: 'GET', url: `/graphql?query=${twoOperations}&operationName=B` });
  t.same(named.json(), { data: { __typename: 'Query' } });
  const unnamedPost = await unreachable.app.inject({ method: 'POST', url: '/graphql', payload: { query: 'query A { __typename } query B { __typename }' } });
  t.equal(unnamedPost.statusCode, 400);
  t.equal(unnamedPost.json<GraphqlAnswer>().errors?.[0]?.extensions.code, 'REQUEST_VALIDATION_FAILED');

  const batch = await unreachable.app.inject({ method: 'POST', url: '/graphql', payload: [{ query: '{ __typename }' }, { query: '{ __typename }' }] });
  t.equal(batch.statusCode, 400, 'batched queries are off');
});

t.test('mutations: placeOrder means what Idempotency-Key and Prefer: wait mean', async (t) => {
  const { post, issuer, ordersService } = await setUp(t);
  const userId = randomUUID();
  const productId = randomUUID();
  const answer = await post(
    'mutation ($input: PlaceOrderInput!) { placeOrder(input: $input, idempotencyKey: "key-1", waitSeconds: 2) { userId status items { productId quantity } } }',
    { input: { items: [{ productId, quantity: 2 }] } },
    bearer(await issuer.tokenFor({ userId })),
  );
  t.notOk(answer.body.errors);
  t.same(answer.body.data, { placeOrder: { userId, status: 'confirmed', items: [{ productId, quantity: 1 }] } });
  const sent = ordersService.seen.find((seen) => seen.method === 'POST' && seen.url === '/v1/orders')!;
  t.equal(sent.headers['idempotency-key'], 'key-1');
  t.equal(sent.headers.prefer, 'wait=2');
  t.same(JSON.parse(sent.body), { items: [{ productId, quantity: 2 }] });
});

t.test('limits refuse a query before any service is asked', async (t) => {
  const { post, upstreamCalls } = await setUp(t, { GRAPHQL_MAX_COST: '2000', GRAPHQL_MAX_ALIASES: '3' });
  const refusedWith = async (query: string, pattern: RegExp, variables: Record<string, unknown> = {}) => {
    const answer = await post(query, variables);
    t.equal(answer.status, 400);
    t.equal(answer.body.errors?.[0]?.extensions.code, 'GRAPHQL_QUERY_TOO_COMPLEX');
    t.match(answer.body.errors?.[0]?.message, pattern);
  };
  // 11 levels: product > recommendations > product > recommendations > ... > name.
  await refusedWith(
    '{ product(id: "x") { recommendations { product { recommendations { product { recommendations { product { recommendations { product { recommendations { product { name } } } } } } } } } } } }',
    /deeper than 10/,
  );
  await refusedWith('{ products(first: 101) { edges { node { id } } } }', /at most 100/);
  await refusedWith('{ products(first: 101) { edges { node { id } } } }', /at most 100/);
  await refusedWith('{ a: product(id: "1") { id } b: product(id: "2") { id } c: product(id: "3") { id } d: product(id: "4") { id } }', /aliases/);
  await refusedWith('{ products(first: 100) { edges { node { id recommendations(first: 50) { score } } } } }', /cost/);
  const byVariable = 'query ($n: Int) { products(first: $n) { edges { node { id } } } }';
  await refusedWith(byVariable, /at most 100/, { n: 101 });
  t.equal(upstreamCalls().length, 0);

  // A document whose limits depend on its variables is analysed again for each request.
  t.equal((await post(byVariable, { n: 5 })).status, 200);
  await refusedWith(byVariable, /at most 100/, { n: 101 });
  t.equal(upstreamCalls().length, 1);

  const allowed = await post('{ products(first: 100) { edges { node { id name category { name } } } } }');
  t.notOk(allowed.body.errors, 'a query within the budget runs');
});

t.test('a costly query counts more against the rate limit', async (t) => {
  const { app, products } = await setUp(t, { RATE_LIMIT_ANONYMOUS_MAX: '100', GRAPHQL_COST_PER_REQUEST: '100' });
  const id = randomUUID();
  products.set(id, productWith(id));
  const remainingAfter = async (query: string) => {
    const response = await app.inject({ method: 'POST', url: '/graphql', payload: { query } });
    return Number(response.headers['ratelimit-remaining']);
  };
  const cheap = await remainingAfter(`{ product(id: "${id}") { id } }`);
  const afterCheap = await remainingAfter(`{ product(id: "${id}") { id } }`);
  t.equal(cheap - afterCheap, 1, 'a cheap query counts once');
  const afterCostly = await remainingAfter('{ products(first: 50) { edges { node { id name sku priceCents } } } }');
  t.ok(afterCheap - afterCostly >= 3, `a costly query counts more (${afterCheap - afterCostly})`);
});

t.test('introspection can be turned off', async (t) => {
  const on = await setUp(t);
  t.notOk((await on.post('{ __schema { queryType { name } } }')).body.errors);
  const off = await setUp(t, { GRAPHQL_INTROSPECTION: 'false' });
  const refused = await off.post('{ __schema { queryType { name } } }');
  t.equal(refused.status, 400);
  t.equal(refused.body.errors?.[0]?.extensions.code, 'REQUEST_VALIDATION_FAILED');
});
