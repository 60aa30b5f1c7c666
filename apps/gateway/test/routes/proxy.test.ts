import { randomUUID } from 'node:crypto';
import { AppError } from '@shop/service-kit';
import t from 'tap';
import { bearer, buildGateway, problemOf, startFakeUpstream } from '../helper';

const PRODUCT_ID = randomUUID();

t.test('the allow-list', async (t) => {
  const auth = await startFakeUpstream(t, 'auth', (app) => {
    app.post('/internal/v1/api-keys/exchange', async () => ({ accessToken: 'leaked', tokenType: 'Bearer', expiresIn: 60 }));
  });
  const catalog = await startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products', async () => ({ items: [], nextCursor: null }));
    app.get('/internal/v1/reservations', async () => ({ secret: true }));
  });
  const { app } = await buildGateway(t, { auth: auth.url, catalog: catalog.url });

  t.test('internal routes, upstream health and docs are unknown here: 404', async (t) => {
    for (const url of ['/internal/v1/api-keys/exchange', '/internal/v1/reservations', '/v1/health', '/v1/products/health', '/v1/docs/openapi.json', '/v1/products/../internal/v1/reservations']) {
      for (const method of ['GET', 'POST'] as const) {
        const response = await app.inject({ method, url, headers: { 'content-type': 'application/json' }, payload: method === 'POST' ? '{}' : undefined });
        if (url === '/v1/products/health') {
          // Matches `GET /v1/products/:id` (the service answers 404 for such an id); POST is not allowed there.
          t.not(response.statusCode, 200, `${method} ${url}`);
          continue;
        }
        t.equal(response.statusCode, 404, `${method} ${url}`);
        t.equal(problemOf(response).code, 'ROUTE_NOT_FOUND');
      }
    }
    t.notOk(auth.seen.some((request) => request.url.startsWith('/internal')), 'auth never saw an internal request');
    t.notOk(catalog.seen.some((request) => request.url.startsWith('/internal')), 'catalog neither');
  });

  t.test('unknown paths are 404 problems, trailing slashes included', async (t) => {
    for (const url of ['/', '/nope', '/v1', '/v1/products/', '/v2/products', '/v1/orders/abc/cancel/now']) {
      const response = await app.inject({ method: 'GET', url });
      t.equal(response.statusCode, 404, url);
      t.equal(response.headers['content-type'], 'application/problem+json');
      t.match(problemOf(response), { code: 'ROUTE_NOT_FOUND', status: 404, instance: url });
    }
  });

  t.test('a wrong method on a known path is 405 with Allow', async (t) => {
    const cases: [string, string, string][] = [
      ['DELETE', '/v1/products', 'GET, HEAD, POST'],
      ['POST', `/v1/products/${PRODUCT_ID}`, 'DELETE, GET, HEAD, PATCH, PUT'],
      ['GET', '/v1/auth/login', 'POST'],
      ['PUT', '/v1/categories/x', 'DELETE, GET, HEAD, PATCH'],
      ['POST', '/health', 'GET, HEAD'],
    ];
    for (const [method, url, allow] of cases) {
      const response = await app.inject({ method: method as 'GET', url });
      t.equal(response.statusCode, 405, `${method} ${url}`);
      t.equal(response.headers.allow, allow);
      t.equal(problemOf(response).code, 'METHOD_NOT_ALLOWED');
    }
  });

  t.test('an allowed operation reaches its service', async (t) => {
    const response = await app.inject({ method: 'GET', url: '/v1/products?limit=5' });
    t.equal(response.statusCode, 200);
    t.same(response.json(), { items: [], nextCursor: null });
    t.equal(catalog.seen.at(-1)?.url, '/v1/products?limit=5');
  });
});

t.test('forwarding', async (t) => {
  const catalog = await startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products/:id', async (request, reply) => {
      if (request.headers['if-none-match'] === '"7"') return reply.code(304).header('etag', '"7"').send();
      return reply.header('etag', '"7"').header('cache-control', 'public, max-age=1').send({ id: (request.params as { id: string }).id, name: 'Tea' });
    });
    app.post('/v1/products', async (request, reply) =>
      reply.code(201).header('location', `/v1/products/${PRODUCT_ID}`).header('link', '</v1/products>; rel="collection"').send({ received: request.body }),
    );
    app.patch('/v1/products/:id', async () => {
      throw new AppError('CATALOG_SKU_TAKEN', 'SKU TEA-1 is taken');
    });
    app.delete('/v1/products/:id', async (_request, reply) => reply.code(204).send());
    app.get('/v1/categories', async (_request, reply) =>
      reply.code(418).type('application/problem+json').header('x-custom', 'kept').send('{"type":"urn:test","title":"teapot","status":418,"code":"TEAPOT","extra":[1,2]}'),
    );
  });
  const { app, issuer } = await buildGateway(t, { catalog: catalog.url });
  const token = await issuer.tokenFor({ role: 'admin' });
  const last = () => catalog.seen.at(-1)!;

  t.test('status, headers and body come back as the service sent them', async (t) => {
    const response = await app.inject({ method: 'GET', url: `/v1/products/${PRODUCT_ID}` });
    t.equal(response.statusCode, 200);
    t.same(response.json(), { id: PRODUCT_ID, name: 'Tea' });
    t.equal(response.headers.etag, '"7"');
    t.equal(response.headers['cache-control'], 'public, max-age=1');
    t.equal(response.headers['content-type'], 'application/json; charset=utf-8');

    const notModified = await app.inject({ method: 'GET', url: `/v1/products/${PRODUCT_ID}`, headers: { 'if-none-match': '"7"' } });
    t.equal(notModified.statusCode, 304, 'conditional headers reach the service');
    t.equal(notModified.body, '');

    const head = await app.inject({ method: 'HEAD', url: `/v1/products/${PRODUCT_ID}` });
    t.equal(head.statusCode, 200);
    t.equal(last().method, 'HEAD', 'HEAD is forwarded as HEAD');
    t.equal(head.headers['content-length'], String(Buffer.byteLength(response.body)), "the service's Content-Length, not the empty body's");
    t.equal(head.body, '');
  });

  t.test('a body is forwarded byte for byte, and Location / Link come back', async (t) => {
    const payload = '{"name":"Tea","tags":["green"],"unicode":"☕"}';
    const response = await app.inject({ method: 'POST', url: '/v1/products', headers: { ...bearer(token), 'content-type': 'application/json' }, payload });
    t.equal(response.statusCode, 201);
    t.same(response.json(), { received: JSON.parse(payload) });
    t.equal(response.headers.location, `/v1/products/${PRODUCT_ID}`);
    t.equal(response.headers.link, '</v1/products>; rel="collection"');
    t.equal(last().headers['content-type'], 'application/json');
  });

  t.test("problems from a service pass through unchanged: status, content type and body", async (t) => {
    const conflict = await app.inject({ method: 'PATCH', url: `/v1/products/${PRODUCT_ID}`, headers: { ...bearer(token), 'content-type': 'application/merge-patch+json' }, payload: '{"sku":"TEA-1"}' });
    t.equal(conflict.statusCode, 409);
    t.equal(conflict.headers['content-type'], 'application/problem+json');
    t.match(problemOf(conflict), { code: 'CATALOG_SKU_TAKEN', detail: 'SKU TEA-1 is taken', instance: `/v1/products/${PRODUCT_ID}`, requestId: conflict.headers['x-request-id'] });

    const odd = await app.inject({ method: 'GET', url: '/v1/categories' });
    const direct = await fetch(`${catalog.url}/v1/categories`);
    t.equal(odd.statusCode, 418);
    t.equal(odd.headers['content-type'], direct.headers.get('content-type'));
    t.match(odd.headers['content-type'], /^application\/problem\+json/);
    t.equal(odd.headers['x-custom'], 'kept');
    t.equal(odd.body, await direct.text(), 'byte for byte');
    t.equal(odd.body, '{"type":"urn:test","title":"teapot","status":418,"code":"TEAPOT","extra":[1,2]}');

    const deleted = await app.inject({ method: 'DELETE', url: `/v1/products/${PRODUCT_ID}`, headers: bearer(token) });
    t.equal(deleted.statusCode, 204);
    t.equal(deleted.body, '');
    t.notOk(deleted.headers['content-type'], 'no content type invented for an empty answer');
  });

  t.test('a body over 1 MiB is refused at the edge', async (t) => {
    const before = catalog.seen.length;
    const response = await app.inject({ method: 'POST', url: '/v1/products', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: `"${'x'.repeat(1024 * 1024)}"` });
    t.equal(response.statusCode, 413);
    t.equal(problemOf(response).code, 'REQUEST_BODY_TOO_LARGE');
    t.equal(catalog.seen.length, before, 'the service never saw it');
  });

  t.test('request id and traceparent reach the service; hop-by-hop and spoofed headers do not', async (t) => {
    const response = await app.inject({
      method: 'GET',
      url: `/v1/products/${PRODUCT_ID}`,
      // A client on the internet: not one of the proxies the gateway trusts.
      remoteAddress: '203.0.113.9',
      headers: {
        'x-request-id': 'client-chosen-id-42',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        'x-forwarded-for': '6.6.6.6',
        'proxy-authorization': 'Basic c2VjcmV0',
        connection: 'keep-alive, x-hop',
        'x-hop': 'only for this hop',
        'x-custom': 'end to end',
      },
    });
    t.equal(response.headers['x-request-id'], 'client-chosen-id-42');
    const seen = last().headers;
    t.equal(seen['x-request-id'], 'client-chosen-id-42', 'the same id in every service');
    t.match(seen.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    t.not(seen.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'the gateway is a hop of the trace');
    t.equal(seen['x-forwarded-for'], '203.0.113.9', 'the address the gateway saw, not the one the client claimed');
    t.notOk(seen['proxy-authorization']);
    t.notOk(seen['x-hop'], 'headers named in Connection stay on their hop');
    t.equal(seen['x-custom'], 'end to end');

    await app.inject({ method: 'GET', url: `/v1/products/${PRODUCT_ID}`, headers: { 'x-request-id': 'bad id with spaces' } });
    t.match(last().headers['x-request-id'], /^[0-9a-f-]{36}$/, 'an insane id is replaced, and the new one is forwarded');
    t.match(last().headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'a trace is started when none came');
  });
});
