import { ConfigError } from '@shop/service-kit';
import t from 'tap';
import { buildGateway, problemOf, startFakeUpstream } from '../helper';

const ALLOWED = 'https://shop.example';

t.test('CORS from the configured allow-list', async (t) => {
  const catalog = await startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products', async (_request, reply) => reply.header('etag', '"1"').send({ items: [], nextCursor: null }));
  });
  const { app } = await buildGateway(t, { catalog: catalog.url, env: { CORS_ORIGINS: `${ALLOWED}, http://localhost:5173` } });
  const preflight = (origin: string, url = '/v1/products', method = 'POST') =>
    app.inject({ method: 'OPTIONS', url, headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' } });

  t.test('a preflight from an allowed origin is approved, with credentials, never with *', async (t) => {
    const response = await preflight(ALLOWED);
    t.equal(response.statusCode, 204);
    t.equal(response.headers['access-control-allow-origin'], ALLOWED);
    t.equal(response.headers['access-control-allow-credentials'], 'true');
    t.match(response.headers['access-control-allow-methods'], /POST/);
    t.equal(response.headers['access-control-allow-headers'], 'authorization, content-type');
    t.equal(response.headers['access-control-max-age'], '600');
    t.match(response.headers.vary, /Origin/);
    t.equal(catalog.seen.filter((request) => request.method === 'OPTIONS').length, 0, 'answered at the edge');
  });

  t.test('a preflight from any other origin gets no CORS approval', async (t) => {
    for (const origin of ['https://evil.example', 'https://shop.example.evil.example', 'null']) {
      const response = await preflight(origin);
      t.equal(response.statusCode, 204, origin);
      t.notOk(response.headers['access-control-allow-origin'], origin);
      t.notOk(response.headers['access-control-allow-credentials'], origin);
      t.notOk(response.headers['access-control-allow-methods'], origin);
    }
  });

  t.test('a preflight to a path that does not exist is a 404', async (t) => {
    const response = await preflight(ALLOWED, '/internal/v1/api-keys/exchange');
    t.equal(response.statusCode, 404);
    t.equal(problemOf(response).code, 'ROUTE_NOT_FOUND');
  });

  t.test('a plain OPTIONS learns the methods of the path', async (t) => {
    const response = await app.inject({ method: 'OPTIONS', url: '/v1/products' });
    t.equal(response.statusCode, 204);
    t.equal(response.headers.allow, 'GET, HEAD, POST, OPTIONS');
  });

  t.test('actual requests: the allowed origin may read the answer and the useful headers', async (t) => {
    const allowed = await app.inject({ method: 'GET', url: '/v1/products', headers: { origin: ALLOWED } });
    t.equal(allowed.headers['access-control-allow-origin'], ALLOWED);
    t.equal(allowed.headers['access-control-allow-credentials'], 'true');
    t.match(allowed.headers['access-control-expose-headers'], /x-request-id.*ratelimit-remaining.*etag/);
    const refused = await app.inject({ method: 'GET', url: '/v1/products', headers: { origin: 'https://evil.example' } });
    t.equal(refused.statusCode, 200, 'CORS is for browsers: the answer is the same, only unreadable to that page');
    t.notOk(refused.headers['access-control-allow-origin']);
    const problem = await app.inject({ method: 'GET', url: '/nope', headers: { origin: ALLOWED } });
    t.equal(problem.headers['access-control-allow-origin'], ALLOWED, 'problems are readable too');
  });
});

t.test('"*" or anything but an origin in CORS_ORIGINS is refused at start', async (t) => {
  for (const value of ['*', 'https://shop.example/path', 'shop.example']) {
    await t.rejects(buildGateway(t, { env: { CORS_ORIGINS: value } }), ConfigError, value);
  }
});

t.test('security headers', async (t) => {
  const catalog = await startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products', async () => ({ items: [], nextCursor: null }));
  });
  const { app } = await buildGateway(t, { catalog: catalog.url });

  t.test('API answers may not be framed, sniffed or run anything', async (t) => {
    for (const url of ['/v1/products', '/nope']) {
      const response = await app.inject({ method: 'GET', url });
      t.equal(response.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none'", url);
      t.equal(response.headers['x-content-type-options'], 'nosniff');
      t.equal(response.headers['x-frame-options'], 'SAMEORIGIN');
      t.match(response.headers['strict-transport-security'], /max-age=\d+/);
      t.equal(response.headers['referrer-policy'], 'no-referrer');
      t.notOk(response.headers['x-powered-by']);
    }
  });

  t.test("Swagger UI gets a policy that lets its own scripts and styles run", async (t) => {
    const page = await app.inject({ method: 'GET', url: '/docs' });
    t.equal(page.statusCode, 200);
    t.match(page.headers['content-type'], /text\/html/);
    t.match(page.headers['content-security-policy'], /script-src 'self'/);
    t.match(page.headers['content-security-policy'], /style-src 'self'/);
    const script = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    t.equal(script.statusCode, 200);
    t.match(script.body, /\.\/json/);
  });
});
