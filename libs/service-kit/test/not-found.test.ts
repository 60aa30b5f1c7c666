import t from 'tap';
import { buildKitApp, problemOf } from './helper';

t.test('an unknown route is 404 ROUTE_NOT_FOUND', async (t) => {
  const { app } = await buildKitApp(t);
  for (const url of ['/nowhere', '/widgets/1/2/3', '/health/', '/WIDGETS']) {
    const response = await app.inject({ method: 'GET', url });
    t.equal(response.statusCode, 404, url);
    t.equal(response.headers['content-type'], 'application/problem+json', url);
    t.match(problemOf(response), { code: 'ROUTE_NOT_FOUND', status: 404, instance: url }, url);
    t.notOk(response.headers.allow, `${url}: no Allow on a 404`);
  }
  const post = await app.inject({ method: 'POST', url: '/nowhere', payload: {} });
  t.equal(post.statusCode, 404, 'whatever the method');
  t.equal(problemOf(post).code, 'ROUTE_NOT_FOUND');
});

t.test('a wrong method on a known path is 405 with Allow', async (t) => {
  const { app } = await buildKitApp(t);
  const id = '3f1c2a4e-8b7d-4c6e-9a0b-1d2e3f4a5b6c';

  const onList = await app.inject({ method: 'DELETE', url: '/widgets' });
  t.equal(onList.statusCode, 405);
  t.equal(onList.headers['content-type'], 'application/problem+json');
  t.match(problemOf(onList), { code: 'METHOD_NOT_ALLOWED', status: 405, instance: '/widgets' });
  t.same(allowOf(onList.headers.allow), ['GET', 'HEAD', 'POST'], 'GET routes also allow HEAD');

  const onItem = await app.inject({ method: 'PUT', url: `/widgets/${id}?x=1`, payload: {} });
  t.equal(onItem.statusCode, 405, 'a parametric path too');
  t.same(allowOf(onItem.headers.allow), ['GET', 'HEAD', 'PATCH']);
  t.equal(problemOf(onItem).instance, `/widgets/${id}`);

  const onBoom = await app.inject({ method: 'POST', url: '/boom', payload: {} });
  t.equal(onBoom.statusCode, 405);
  t.same(allowOf(onBoom.headers.allow), ['GET', 'HEAD']);
});

t.test('HEAD is answered on a GET route', async (t) => {
  const { app } = await buildKitApp(t);
  const response = await app.inject({ method: 'HEAD', url: '/health' });
  t.equal(response.statusCode, 200);
  t.equal(response.body, '');
});

t.test('a malformed uuid in a path is 404 RESOURCE_NOT_FOUND, never 400 or 500', async (t) => {
  const { app } = await buildKitApp(t);
  const malformed = [
    'not-a-uuid',
    '3f1c2a4e-8b7d-4c6e-9a0b-1d2e3f4a5b6',
    "1' OR '1'='1",
    '3f1c2a4e8b7d4c6e9a0b1d2e3f4a5b6czz',
    // ajv-formats accepts the URN form, PostgreSQL does not: it must never reach a query.
    'urn:uuid:3f1c2a4e-8b7d-4c6e-9a0b-1d2e3f4a5b6c',
  ];
  for (const id of malformed) {
    const response = await app.inject({ method: 'GET', url: `/widgets/${encodeURIComponent(id)}` });
    t.equal(response.statusCode, 404, id);
    t.equal(response.headers['content-type'], 'application/problem+json', id);
    t.match(problemOf(response), { code: 'RESOURCE_NOT_FOUND', status: 404 }, id);
    t.notOk('errors' in problemOf(response), `${id}: says nothing about the validation`);
  }
  const valid = await app.inject({ method: 'GET', url: '/widgets/3F1C2A4E-8B7D-4C6E-9A0B-1D2E3F4A5B6C' });
  t.equal(valid.statusCode, 200, 'upper case is still a uuid');
});

t.test('a URL that cannot be decoded is a 404 problem with a request id', async (t) => {
  const { app } = await buildKitApp(t);
  const response = await app.inject({ method: 'GET', url: '/widgets/%E0%A4%A' });
  t.equal(response.statusCode, 404);
  t.equal(response.headers['content-type'], 'application/problem+json');
  t.equal(problemOf(response).code, 'RESOURCE_NOT_FOUND');
  t.ok(response.headers['x-request-id'], 'the response still carries its request id');
  t.equal(problemOf(response).requestId, response.headers['x-request-id']);
});

function allowOf(header: unknown): string[] {
  return String(header)
    .split(',')
    .map((method) => method.trim())
    .sort();
}

t.test('a path parameter longer than any id is a 404 problem', async (t) => {
  const { app } = await buildKitApp(t);
  const response = await app.inject({ method: 'GET', url: `/widgets/${'a'.repeat(500)}` });
  t.equal(response.statusCode, 404);
  t.equal(response.headers['content-type'], 'application/problem+json');
  t.equal(problemOf(response).code, 'RESOURCE_NOT_FOUND');
  t.equal(problemOf(response).requestId, response.headers['x-request-id']);
});
