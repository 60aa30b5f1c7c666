import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import t from 'tap';
import { build, createCategory, createProduct, problemOf, productBody } from '../helper';

const cursorOf = (position: unknown) => Buffer.from(JSON.stringify(position)).toString('base64url');
const json = (value: unknown) => ({ payload: JSON.stringify(value), contentType: 'application/json' });

/**
 * Input that used to reach PostgreSQL and come back as a 500: NUL and unpaired surrogates in any
 * text, numbers beyond a column's range, tampered cursors. Each must be a 400 with a stable code.
 */
t.test('hostile input is a 400 problem, never a 500', async (t) => {
  const { app, admin } = await build(t);
  const product = await createProduct(app, admin);
  const category = await createCategory(app, admin, { name: 'Hostile' });
  const id = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';

  const send = async (request: InjectOptions) => app.inject({ ...request, headers: { ...admin, ...(request.headers ?? {}) } });
  const expectRefused = async (label: string, request: InjectOptions, path: string) => {
    const response = await send(request);
    t.equal(response.statusCode, 400, label);
    t.equal(response.headers['content-type'], 'application/problem+json', label);
    t.equal(problemOf(response).code, 'REQUEST_VALIDATION_FAILED', label);
    t.ok(problemOf(response).errors?.some((error) => error.path === path), `${label}: names ${path} (${response.body})`);
  };

  for (const bad of ['a\u0000b', 'a\ud800b']) {
    const kind = bad.includes('\u0000') ? 'NUL' : 'lone surrogate';
    const body = (overrides: object) => {
      const { payload, contentType } = json({ ...productBody(), ...overrides });
      return { payload, headers: { 'content-type': contentType } };
    };
    await expectRefused(`${kind} in a new product's name`, { method: 'POST', url: '/v1/products', ...body({ name: bad }) }, '/body/name');
    await expectRefused(`${kind} in a new product's description`, { method: 'POST', url: '/v1/products', ...body({ description: bad }) }, '/body/description');
    await expectRefused(`${kind} in a new product's tags`, { method: 'POST', url: '/v1/products', ...body({ tags: ['ok', bad] }) }, '/body/tags/1');
    await expectRefused(`${kind} in a replaced product's name`, { method: 'PUT', url: `/v1/products/${product.id}`, ...body({ name: bad }) }, '/body/name');
    await expectRefused(
      `${kind} in a patched product's description`,
      { method: 'PATCH', url: `/v1/products/${product.id}`, payload: JSON.stringify({ description: bad }), headers: { 'content-type': 'application/merge-patch+json' } },
      '/body/description',
    );
    await expectRefused(`${kind} in a patched product's tags`, { method: 'PATCH', url: `/v1/products/${product.id}`, ...body({ tags: [bad] }) }, '/body/tags/0');
    await expectRefused(`${kind} in a new category's name`, { method: 'POST', url: '/v1/categories', payload: JSON.stringify({ name: bad }), headers: { 'content-type': 'application/json' } }, '/body/name');
    await expectRefused(
      `${kind} in a patched category's description`,
      { method: 'PATCH', url: `/v1/categories/${category.id}`, payload: JSON.stringify({ description: bad }), headers: { 'content-type': 'application/json' } },
      '/body/description',
    );
    await expectRefused(`${kind} in a name cursor`, { method: 'GET', url: `/v1/products?sort=name&cursor=${cursorOf(['name', bad, id])}` }, '/querystring/cursor');
    await expectRefused(`${kind} in a category cursor`, { method: 'GET', url: `/v1/categories?cursor=${cursorOf(['name', bad, id])}` }, '/querystring/cursor');
  }
  await expectRefused('NUL in a search', { method: 'GET', url: '/v1/products?q=%00' }, '/querystring/q');
  await expectRefused('a price filter beyond the column', { method: 'GET', url: '/v1/products?minPrice=2147483648' }, '/querystring/minPrice');
  await expectRefused('a price filter beyond any number', { method: 'GET', url: '/v1/products?maxPrice=1e400' }, '/querystring/maxPrice');
  await expectRefused('a price cursor beyond the column', { method: 'GET', url: `/v1/products?sort=price&cursor=${cursorOf(['price', 2147483648, id])}` }, '/querystring/cursor');
  await expectRefused('a price cursor that is not a whole number', { method: 'GET', url: `/v1/products?sort=-price&cursor=${cursorOf(['-price', 1.5, id])}` }, '/querystring/cursor');
  await expectRefused('a date cursor of year 0', { method: 'GET', url: `/v1/products?sort=createdAt&cursor=${cursorOf(['createdAt', '0000-01-01T00:00:00.000Z', id])}` }, '/querystring/cursor');

  const stillThere = await app.inject({ method: 'GET', url: `/v1/products/${product.id}` });
  t.same(stillThere.json(), product, 'none of it changed the product');

  t.test('fuzzed text anywhere in a product write: 400 or success, never a 5xx', async (t) => {
    const field = fc.constantFrom('name', 'description', 'tag');
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('\u0000', '\ud800', '\udfff', 'a\u0000', '\ud83c'));
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(field, text, async (which, value) => {
        const overrides = which === 'tag' ? { tags: [value] } : { [which]: value };
        const { payload } = json({ ...productBody(), ...overrides });
        const response = await send({ method: 'POST', url: '/v1/products', payload, headers: { 'content-type': 'application/json' } });
        if (response.statusCode === 400) refused += 1;
        return response.statusCode === 201 || (response.statusCode === 400 && typeof problemOf(response).code === 'string');
      }),
      { seed: 1111, numRuns: 150 },
    );
    t.ok(refused > 0, `some were refused (${refused} of 150)`);
  });
});
