import { randomUUID } from 'node:crypto';
import t from 'tap';
import { build, createCategory, createProduct, problemOf, productBody, type ProductJson } from '../helper';

const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' };

t.test('create', async (t) => {
  const { app, admin } = await build(t);

  t.test('answers 201 with Location, ETag and the whole product', async (t) => {
    const body = productBody({ sku: 'LAMP-1', tags: ['lighting', 'walnut'] });
    const response = await app.inject({ method: 'POST', url: '/v1/products', headers: admin, payload: body });
    t.equal(response.statusCode, 201);
    const product = response.json<ProductJson>();
    t.equal(response.headers.location, `/v1/products/${product.id}`);
    t.equal(response.headers.etag, '"v1"');
    t.same(Object.keys(product).sort(), ['categoryId', 'createdAt', 'currency', 'description', 'id', 'name', 'priceCents', 'sku', 'stock', 'tags', 'updatedAt', 'version']);
    t.match(product, { id: /^[0-9a-f-]{36}$/, sku: 'LAMP-1', name: body.name, priceCents: 4_999, currency: 'USD', categoryId: null, tags: ['lighting', 'walnut'], stock: 10, version: 1, createdAt: /Z$/, updatedAt: /Z$/ });

    const fetched = await app.inject({ method: 'GET', url: response.headers.location as string });
    t.equal(fetched.statusCode, 200);
    t.same(fetched.json(), product);
  });

  t.test('a taken SKU (in any case) is 409 CATALOG_SKU_TAKEN', async (t) => {
    await createProduct(app, admin, { sku: 'MUG-RED' });
    const response = await app.inject({ method: 'POST', url: '/v1/products', headers: admin, payload: productBody({ sku: 'mug-red' }) });
    t.equal(response.statusCode, 409);
    t.equal(response.headers['content-type'], 'application/problem+json');
    t.match(problemOf(response), { code: 'CATALOG_SKU_TAKEN', status: 409, type: 'urn:shop:problem:catalog-sku-taken', instance: '/v1/products', requestId: /.+/ });
  });

  t.test('negative prices or stock, another currency and unknown properties are 400 with errors[]', async (t) => {
    const cases: { payload: Record<string, unknown>; path: string }[] = [
      { payload: productBody({ priceCents: -1 }), path: '/body/priceCents' },
      { payload: productBody({ stock: -5 }), path: '/body/stock' },
      { payload: { ...productBody(), priceCents: 9.99 }, path: '/body/priceCents' },
      { payload: productBody({ currency: 'EUR' }), path: '/body/currency' },
      { payload: productBody({ currency: 'usd' }), path: '/body/currency' },
      { payload: { ...productBody(), id: randomUUID() }, path: '/body/id' },
      { payload: { ...productBody(), version: 7 }, path: '/body/version' },
      { payload: { ...productBody(), createdAt: new Date().toISOString() }, path: '/body/createdAt' },
      { payload: { ...productBody(), sku: undefined }, path: '/body/sku' },
      { payload: productBody({ name: '   ' }), path: '/body/name' },
      { payload: productBody({ tags: ['a', 'a'] }), path: '/body/tags' },
    ];
    for (const { payload, path } of cases) {
      const response = await app.inject({ method: 'POST', url: '/v1/products', headers: admin, payload });
      t.equal(response.statusCode, 400, path);
      const problem = problemOf(response);
      t.equal(problem.code, 'REQUEST_VALIDATION_FAILED', path);
      t.ok(problem.errors?.some((error) => error.path === path), `errors[] names ${path}: ${JSON.stringify(problem.errors)}`);
    }
    const list = await app.inject({ method: 'GET', url: '/v1/products?limit=100' });
    t.notOk(list.json<{ items: ProductJson[] }>().items.some((item) => item.priceCents < 0 || item.stock < 0), 'nothing invalid was stored');
  });

  t.test('an unknown category is 400 naming categoryId; a known one is kept', async (t) => {
    const unknown = await app.inject({ method: 'POST', url: '/v1/products', headers: admin, payload: productBody({ categoryId: randomUUID() }) });
    t.equal(unknown.statusCode, 400);
    t.match(problemOf(unknown).errors, [{ path: '/body/categoryId' }]);
    const category = await createCategory(app, admin, { name: 'Lighting' });
    const product = await createProduct(app, admin, { categoryId: category.id });
    t.equal(product.categoryId, category.id);
  });

  t.test('bodies other than JSON are 415', async (t) => {
    const text = await app.inject({ method: 'POST', url: '/v1/products', headers: { ...admin, 'content-type': 'text/plain' }, payload: 'hello' });
    t.equal(text.statusCode, 415);
    const mergePatch = await app.inject({ method: 'POST', url: '/v1/products', headers: { ...admin, ...MERGE_PATCH }, payload: JSON.stringify(productBody()) });
    t.equal(mergePatch.statusCode, 415, 'merge patch is for PATCH only');
  });
});

t.test('writes need catalog:write: anonymous 401, customer 403, checked before the body', async (t) => {
  const { app, admin, customer } = await build(t);
  const product = await createProduct(app, admin);
  const writes = [
    { method: 'POST' as const, url: '/v1/products', payload: productBody() },
    { method: 'PUT' as const, url: `/v1/products/${product.id}`, payload: productBody() },
    { method: 'PATCH' as const, url: `/v1/products/${product.id}`, payload: { name: 'x' } },
    { method: 'DELETE' as const, url: `/v1/products/${product.id}` },
  ];
  for (const write of writes) {
    const anonymous = await app.inject({ ...write });
    t.equal(anonymous.statusCode, 401, `${write.method} anonymous`);
    t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="shop"');
    t.equal(problemOf(anonymous).code, 'AUTH_TOKEN_MISSING');

    const forbidden = await app.inject({ ...write, headers: customer });
    t.equal(forbidden.statusCode, 403, `${write.method} customer`);
    t.equal(problemOf(forbidden).code, 'AUTH_SCOPE_REQUIRED');
    t.match(forbidden.headers['www-authenticate'], /insufficient_scope/);

    // An invalid body still gets 401/403 first: who you are is checked before what you sent.
    if (write.method !== 'DELETE') {
      const invalid = await app.inject({ ...write, payload: { nonsense: true } });
      t.equal(invalid.statusCode, 401, `${write.method} anonymous with a bad body`);
      const invalidCustomer = await app.inject({ ...write, headers: customer, payload: { nonsense: true } });
      t.equal(invalidCustomer.statusCode, 403, `${write.method} customer with a bad body`);
    }
  }
  const bad = await app.inject({ method: 'POST', url: '/v1/products', headers: { authorization: 'Bearer not.a.token' }, payload: productBody() });
  t.equal(bad.statusCode, 401);
  t.match(bad.headers['www-authenticate'], /invalid_token/);

  const still = await app.inject({ method: 'GET', url: `/v1/products/${product.id}` });
  t.same(still.json(), product, 'nothing changed');
  const reads = await app.inject({ method: 'GET', url: '/v1/products' });
  t.equal(reads.statusCode, 200, 'reads are public');
});

t.test('conditional reads: ETag, Cache-Control, If-None-Match → 304', async (t) => {
  const { app, admin } = await build(t);
  const product = await createProduct(app, admin);
  const url = `/v1/products/${product.id}`;

  const first = await app.inject({ method: 'GET', url });
  t.equal(first.statusCode, 200);
  t.equal(first.headers.etag, '"v1"');
  t.equal(first.headers['cache-control'], 'public, no-cache');

  const notModified = await app.inject({ method: 'GET', url, headers: { 'if-none-match': '"v1"' } });
  t.equal(notModified.statusCode, 304);
  t.equal(notModified.body, '');
  t.equal(notModified.headers.etag, '"v1"');
  t.equal(notModified.headers['cache-control'], 'public, no-cache');

  for (const header of ['W/"v1"', '"v0", "v1"', '*']) {
    const response = await app.inject({ method: 'GET', url, headers: { 'if-none-match': header } });
    t.equal(response.statusCode, 304, header);
  }
  const stale = await app.inject({ method: 'GET', url, headers: { 'if-none-match': '"v0"' } });
  t.equal(stale.statusCode, 200);

  const patched = await app.inject({ method: 'PATCH', url, headers: admin, payload: { priceCents: 5_999 } });
  t.equal(patched.headers.etag, '"v2"', 'the ETag changes with every update');
  const afterUpdate = await app.inject({ method: 'GET', url, headers: { 'if-none-match': '"v1"' } });
  t.equal(afterUpdate.statusCode, 200, 'an outdated copy gets the new representation');
  t.equal(afterUpdate.json<ProductJson>().priceCents, 5_999);
  t.equal(afterUpdate.headers.etag, '"v2"');

  const head = await app.inject({ method: 'HEAD', url });
  t.equal(head.statusCode, 200);
  t.equal(head.headers.etag, '"v2"');
});

t.test('PUT replaces the whole product', async (t) => {
  const { app, admin } = await build(t);
  const category = await createCategory(app, admin, { name: 'Desks' });
  const product = await createProduct(app, admin, { categoryId: category.id, tags: ['a', 'b'], description: 'old' });
  const url = `/v1/products/${product.id}`;

  const replaced = await app.inject({ method: 'PUT', url, headers: admin, payload: { sku: product.sku, name: 'Oak desk lamp', priceCents: 3_000, stock: 3 } });
  t.equal(replaced.statusCode, 200);
  const body = replaced.json<ProductJson>();
  t.match(body, { id: product.id, name: 'Oak desk lamp', priceCents: 3_000, stock: 3, description: null, categoryId: null, tags: [], version: 2, createdAt: product.createdAt });
  t.equal(replaced.headers.etag, '"v2"');
  t.ok(Date.parse(body.updatedAt) >= Date.parse(product.updatedAt));

  const stale = await app.inject({ method: 'PUT', url, headers: { ...admin, 'if-match': '"v1"' }, payload: productBody({ sku: product.sku }) });
  t.equal(stale.statusCode, 412);
  t.match(problemOf(stale), { code: 'PRECONDITION_FAILED', status: 412 });
  const unchanged = await app.inject({ method: 'GET', url });
  t.equal(unchanged.json<ProductJson>().name, 'Oak desk lamp', 'a failed precondition changes nothing');

  const current = await app.inject({ method: 'PUT', url, headers: { ...admin, 'if-match': '"v2"' }, payload: productBody({ sku: product.sku, name: 'Ash lamp' }) });
  t.equal(current.statusCode, 200);
  t.equal(current.headers.etag, '"v3"');

  const other = await createProduct(app, admin);
  const taken = await app.inject({ method: 'PUT', url, headers: admin, payload: productBody({ sku: other.sku }) });
  t.equal(taken.statusCode, 409);
  t.equal(problemOf(taken).code, 'CATALOG_SKU_TAKEN');

  const missing = await app.inject({ method: 'PUT', url: `/v1/products/${randomUUID()}`, headers: admin, payload: productBody() });
  t.equal(missing.statusCode, 404);
  t.equal(problemOf(missing).code, 'CATALOG_PRODUCT_NOT_FOUND');

  const partial = await app.inject({ method: 'PUT', url, headers: admin, payload: { name: 'only a name' } });
  t.equal(partial.statusCode, 400, 'PUT needs every required field');

  const withId = await app.inject({ method: 'PUT', url, headers: admin, payload: { ...productBody(), id: product.id } });
  t.equal(withId.statusCode, 400);
});

t.test('PATCH is a JSON merge patch', async (t) => {
  const { app, admin } = await build(t);
  const category = await createCategory(app, admin, { name: 'Kitchen' });
  const product = await createProduct(app, admin, { categoryId: category.id, tags: ['steel'], description: 'Sharp.' });
  const url = `/v1/products/${product.id}`;

  const renamed = await app.inject({ method: 'PATCH', url, headers: { ...admin, ...MERGE_PATCH }, payload: JSON.stringify({ name: 'Chef knife' }) });
  t.equal(renamed.statusCode, 200);
  t.match(renamed.json(), { name: 'Chef knife', description: 'Sharp.', tags: ['steel'], categoryId: category.id, priceCents: product.priceCents, version: 2 });

  const cleared = await app.inject({
    method: 'PATCH',
    url,
    headers: { ...admin, ...MERGE_PATCH },
    payload: JSON.stringify({ description: null, categoryId: null, tags: null }),
  });
  t.equal(cleared.statusCode, 200);
  t.match(cleared.json(), { description: null, categoryId: null, tags: [], name: 'Chef knife', version: 3 });

  const asJson = await app.inject({ method: 'PATCH', url, headers: admin, payload: { stock: 0, tags: ['kitchen', 'knife'] } });
  t.equal(asJson.statusCode, 200, 'application/json is taken too');
  t.match(asJson.json(), { stock: 0, tags: ['kitchen', 'knife'], version: 4 });

  const nothing = await app.inject({ method: 'PATCH', url, headers: { ...admin, ...MERGE_PATCH }, payload: '{}' });
  t.equal(nothing.statusCode, 200);
  t.equal(nothing.json<ProductJson>().version, 4, 'an empty patch changes nothing, not even the version');
  const same = await app.inject({ method: 'PATCH', url, headers: admin, payload: { stock: 0 } });
  t.equal(same.json<ProductJson>().version, 4, 'nor does a patch to the values it already has');

  const cases: { payload: Record<string, unknown>; path: string }[] = [
    { payload: { name: null }, path: '/body/name' },
    { payload: { priceCents: null }, path: '/body/priceCents' },
    { payload: { stock: -1 }, path: '/body/stock' },
    { payload: { currency: 'GBP' }, path: '/body/currency' },
    { payload: { version: 99 }, path: '/body/version' },
    { payload: { id: randomUUID() }, path: '/body/id' },
    { payload: { updatedAt: new Date().toISOString() }, path: '/body/updatedAt' },
  ];
  for (const { payload, path } of cases) {
    const response = await app.inject({ method: 'PATCH', url, headers: { ...admin, ...MERGE_PATCH }, payload: JSON.stringify(payload) });
    t.equal(response.statusCode, 400, path);
    t.ok(problemOf(response).errors?.some((error) => error.path === path), `errors[] names ${path}`);
  }

  const stale = await app.inject({ method: 'PATCH', url, headers: { ...admin, 'if-match': '"v3"' }, payload: { stock: 100 } });
  t.equal(stale.statusCode, 412);
  const weak = await app.inject({ method: 'PATCH', url, headers: { ...admin, 'if-match': 'W/"v4"' }, payload: { stock: 100 } });
  t.equal(weak.statusCode, 412, 'If-Match compares strongly: a weak tag never matches');
  const fresh = await app.inject({ method: 'PATCH', url, headers: { ...admin, 'if-match': '"v4"' }, payload: { stock: 100 } });
  t.equal(fresh.statusCode, 200);
  t.equal(fresh.json<ProductJson>().stock, 100);
  const any = await app.inject({ method: 'PATCH', url, headers: { ...admin, 'if-match': '*' }, payload: { stock: 101 } });
  t.equal(any.statusCode, 200);

  const broken = await app.inject({ method: 'PATCH', url, headers: { ...admin, ...MERGE_PATCH }, payload: '{"name":' });
  t.equal(broken.statusCode, 400);
  t.equal(problemOf(broken).code, 'REQUEST_MALFORMED_BODY');
  const text = await app.inject({ method: 'PATCH', url, headers: { ...admin, 'content-type': 'text/plain' }, payload: 'name=x' });
  t.equal(text.statusCode, 415);

  const missing = await app.inject({ method: 'PATCH', url: `/v1/products/${randomUUID()}`, headers: admin, payload: { stock: 1 } });
  t.equal(missing.statusCode, 404);
});

t.test('DELETE answers 204, then the product is 404', async (t) => {
  const { app, admin } = await build(t);
  const product = await createProduct(app, admin);
  const url = `/v1/products/${product.id}`;

  const stale = await app.inject({ method: 'DELETE', url, headers: { ...admin, 'if-match': '"v9"' } });
  t.equal(stale.statusCode, 412);
  t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, 'still there');

  const deleted = await app.inject({ method: 'DELETE', url, headers: { ...admin, 'if-match': '"v1"' } });
  t.equal(deleted.statusCode, 204);
  t.equal(deleted.body, '');

  const gone = await app.inject({ method: 'GET', url });
  t.equal(gone.statusCode, 404);
  t.match(problemOf(gone), { code: 'CATALOG_PRODUCT_NOT_FOUND', status: 404, instance: url });
  const again = await app.inject({ method: 'DELETE', url, headers: admin });
  t.equal(again.statusCode, 404);

  const reuse = await app.inject({ method: 'POST', url: '/v1/products', headers: admin, payload: productBody({ sku: product.sku }) });
  t.equal(reuse.statusCode, 201, 'the SKU of a deleted product is free again');
});

t.test('paths: malformed ids are 404, wrong methods 405', async (t) => {
  const { app, admin } = await build(t);
  for (const id of ['not-a-uuid', '123', `${randomUUID()}x`]) {
    const response = await app.inject({ method: 'GET', url: `/v1/products/${id}` });
    t.equal(response.statusCode, 404, id);
    const patch = await app.inject({ method: 'PATCH', url: `/v1/products/${id}`, headers: admin, payload: { stock: 1 } });
    t.equal(patch.statusCode, 404, `PATCH ${id}`);
  }
  const wrong = await app.inject({ method: 'PUT', url: '/v1/products' });
  t.equal(wrong.statusCode, 405);
  t.equal(wrong.headers.allow, 'GET, HEAD, POST');
});

t.test('bodies over 1 MiB are 413; every response carries the request id', async (t) => {
  const { app, admin } = await build(t);
  const huge = await app.inject({ method: 'POST', url: '/v1/products', headers: admin, payload: productBody({ description: 'x'.repeat(1_100_000) }) });
  t.equal(huge.statusCode, 413);
  t.equal(problemOf(huge).code, 'REQUEST_BODY_TOO_LARGE');
  const own = await app.inject({ method: 'GET', url: '/v1/products', headers: { 'x-request-id': 'client-id-123' } });
  t.equal(own.headers['x-request-id'], 'client-id-123');
  const missing = await app.inject({ method: 'GET', url: `/v1/products/${randomUUID()}`, headers: { 'x-request-id': 'client-id-456' } });
  t.equal(problemOf(missing).requestId, 'client-id-456');
  t.notMatch(missing.body, /stack|SELECT|postgres/i);
});
