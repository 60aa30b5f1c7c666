import { randomUUID } from 'node:crypto';
import t from 'tap';
import { build, createCategory, createProduct, problemOf } from '../helper';

interface CategoryJson {
  id: string;
  name: string;
  slug: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

t.test('create and read', async (t) => {
  const { app, admin, customer } = await build(t);

  const response = await app.inject({ method: 'POST', url: '/v1/categories', headers: admin, payload: { name: 'Kitchen & Dining', description: 'Pots, pans, plates.' } });
  t.equal(response.statusCode, 201);
  const category = response.json<CategoryJson>();
  t.same(Object.keys(category).sort(), ['createdAt', 'description', 'id', 'name', 'slug', 'updatedAt']);
  t.match(category, { name: 'Kitchen & Dining', slug: 'kitchen-dining', description: 'Pots, pans, plates.' });
  t.equal(response.headers.location, `/v1/categories/${category.id}`);
  t.equal(response.headers.etag, '"v1"');

  const read = await app.inject({ method: 'GET', url: `/v1/categories/${category.id}` });
  t.equal(read.statusCode, 200);
  t.same(read.json(), category);
  t.equal(read.headers['cache-control'], 'public, no-cache');
  const notModified = await app.inject({ method: 'GET', url: `/v1/categories/${category.id}`, headers: { 'if-none-match': read.headers.etag as string } });
  t.equal(notModified.statusCode, 304);

  const taken = await app.inject({ method: 'POST', url: '/v1/categories', headers: admin, payload: { name: 'Kitchen', slug: 'kitchen-dining' } });
  t.equal(taken.statusCode, 409);
  t.equal(problemOf(taken).code, 'CATALOG_SLUG_TAKEN');

  for (const payload of [{ name: '' }, { name: 'X', slug: 'Not A Slug' }, { name: 'X', id: randomUUID() }, { name: 'X', createdAt: new Date().toISOString() }]) {
    const invalid = await app.inject({ method: 'POST', url: '/v1/categories', headers: admin, payload });
    t.equal(invalid.statusCode, 400, JSON.stringify(payload));
    t.ok(problemOf(invalid).errors?.length);
  }
  const unsluggable = await app.inject({ method: 'POST', url: '/v1/categories', headers: admin, payload: { name: '!!!' } });
  t.equal(unsluggable.statusCode, 400);
  t.match(problemOf(unsluggable).errors, [{ path: '/body/slug' }]);

  t.equal((await app.inject({ method: 'POST', url: '/v1/categories', payload: { name: 'Anon' } })).statusCode, 401);
  t.equal((await app.inject({ method: 'POST', url: '/v1/categories', headers: customer, payload: { name: 'Cust' } })).statusCode, 403);

  const missing = await app.inject({ method: 'GET', url: `/v1/categories/${randomUUID()}` });
  t.equal(missing.statusCode, 404);
  t.equal(problemOf(missing).code, 'CATALOG_CATEGORY_NOT_FOUND');
  t.equal((await app.inject({ method: 'GET', url: '/v1/categories/nope' })).statusCode, 404);
});

t.test('list by name, paged', async (t) => {
  const { app, admin } = await build(t);
  for (const name of ['Toys', 'Books', 'Garden', 'Audio', 'Kitchen']) await createCategory(app, admin, { name });
  const first = await app.inject({ method: 'GET', url: '/v1/categories?limit=2' });
  t.equal(first.statusCode, 200);
  const page = first.json<{ items: CategoryJson[]; nextCursor: string | null }>();
  t.same(page.items.map((item) => item.name), ['Audio', 'Books']);
  t.match(first.headers.link, /^<\/v1\/categories\?limit=2&cursor=[^>]+>; rel="next"$/);
  const names = page.items.map((item) => item.name);
  let cursor = page.nextCursor;
  while (cursor) {
    const next = await app.inject({ method: 'GET', url: `/v1/categories?limit=2&cursor=${cursor}` });
    const body = next.json<{ items: CategoryJson[]; nextCursor: string | null }>();
    names.push(...body.items.map((item) => item.name));
    cursor = body.nextCursor;
    if (!cursor) t.notOk(next.headers.link, 'no Link on the last page');
  }
  t.same(names, ['Audio', 'Books', 'Garden', 'Kitchen', 'Toys']);
  const bad = await app.inject({ method: 'GET', url: '/v1/categories?cursor=garbage' });
  t.equal(bad.statusCode, 400);
  t.equal((await app.inject({ method: 'GET', url: '/v1/categories?limit=0' })).statusCode, 400);
  t.equal((await app.inject({ method: 'GET', url: '/v1/categories?limit=101' })).statusCode, 400);
});

t.test('a batch read by ids', async (t) => {
  const { app, admin } = await build(t);
  const [toys, books] = [await createCategory(app, admin, { name: 'Toys' }), await createCategory(app, admin, { name: 'Books' })];
  await createCategory(app, admin, { name: 'Garden' });
  const listed = await app.inject({ method: 'GET', url: `/v1/categories?ids=${toys.id},${books.id.toUpperCase()},${randomUUID()}` });
  t.equal(listed.statusCode, 200);
  t.same(
    listed.json<{ items: CategoryJson[] }>().items.map((item) => item.name),
    ['Books', 'Toys'],
    'only those named, by name; unknown ids are left out',
  );
  for (const ids of ['garden', `${toys.id},`, Array.from({ length: 101 }, () => randomUUID()).join(',')]) {
    const refused = await app.inject({ method: 'GET', url: `/v1/categories?ids=${ids}` });
    t.equal(refused.statusCode, 400);
    t.ok(problemOf(refused).errors?.some((error) => error.path === '/querystring/ids'));
  }
});

t.test('PATCH (merge patch) and DELETE', async (t) => {
  const { app, admin, customer } = await build(t);
  const category = await createCategory(app, admin, { name: 'Outdoor', description: 'Out there.' });
  const url = `/v1/categories/${category.id}`;

  const patched = await app.inject({ method: 'PATCH', url, headers: { ...admin, 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ description: null, name: 'Outdoors' }) });
  t.equal(patched.statusCode, 200);
  t.match(patched.json(), { name: 'Outdoors', slug: 'outdoor', description: null });
  t.equal(patched.headers.etag, '"v2"');

  const stale = await app.inject({ method: 'PATCH', url, headers: { ...admin, 'if-match': '"v1"' }, payload: { name: 'Late' } });
  t.equal(stale.statusCode, 412);
  const nullName = await app.inject({ method: 'PATCH', url, headers: admin, payload: { name: null } });
  t.equal(nullName.statusCode, 400);
  const other = await createCategory(app, admin, { name: 'Indoor' });
  const slugTaken = await app.inject({ method: 'PATCH', url, headers: admin, payload: { slug: other.slug } });
  t.equal(slugTaken.statusCode, 409);
  t.equal(problemOf(slugTaken).code, 'CATALOG_SLUG_TAKEN');
  t.equal((await app.inject({ method: 'PATCH', url, headers: customer, payload: { name: 'x' } })).statusCode, 403);

  const product = await createProduct(app, admin, { categoryId: category.id });
  const inUse = await app.inject({ method: 'DELETE', url, headers: admin });
  t.equal(inUse.statusCode, 409);
  t.match(problemOf(inUse), { code: 'CATALOG_CATEGORY_IN_USE', status: 409 });
  t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, 'still there');

  await app.inject({ method: 'PATCH', url: `/v1/products/${product.id}`, headers: admin, payload: { categoryId: null } });
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...admin, 'if-match': '"v1"' } })).statusCode, 412);
  const deleted = await app.inject({ method: 'DELETE', url, headers: admin });
  t.equal(deleted.statusCode, 204);
  t.equal((await app.inject({ method: 'GET', url })).statusCode, 404);
  t.equal((await app.inject({ method: 'DELETE', url, headers: admin })).statusCode, 404);

  const put = await app.inject({ method: 'PUT', url: `/v1/categories/${other.id}`, headers: admin, payload: { name: 'x' } });
  t.equal(put.statusCode, 405, 'categories have no PUT');
  t.equal(put.headers.allow, 'DELETE, GET, HEAD, PATCH');
});
