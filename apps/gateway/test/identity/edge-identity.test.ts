import { randomUUID } from 'node:crypto';
import { createTestTokenIssuer, probeUntil, type Teardown } from '@shop/testing';
import type { JWTVerifyGetKey } from 'jose';
import t from 'tap';
import { bearer, buildGateway, closedPortUrl, problemOf, startFakeUpstream } from '../helper';

const ORDER_ID = randomUUID();

async function setUp(t: Teardown, env: Record<string, string> = {}) {
  const exchanges: string[] = [];
  const issuer = await createTestTokenIssuer();
  const keysByApiKey = new Map<string, string>();
  const auth = await startFakeUpstream(t, 'auth', (app) => {
    app.post('/internal/v1/api-keys/exchange', async (request, reply) => {
      const presented = String(request.headers['x-api-key']);
      exchanges.push(presented);
      const accessToken = keysByApiKey.get(presented);
      if (accessToken === undefined) {
        return reply.code(401).type('application/problem+json').send({ type: 'urn:shop:problem:auth-api-key-invalid', title: 'The API key is not valid', status: 401, code: 'AUTH_API_KEY_INVALID', requestId: request.id });
      }
      return { accessToken, tokenType: 'Bearer', expiresIn: 60 };
    });
  });
  const orders = await startFakeUpstream(t, 'orders', (app) => {
    app.get('/v1/orders', async () => ({ items: [], nextCursor: null }));
    app.get('/v1/orders/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  });
  const catalog = await startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products', async () => ({ items: [], nextCursor: null }));
  });
  // Counts how often a signature is actually checked.
  let keyLookups = 0;
  const countingKeys: JWTVerifyGetKey = (...args) => {
    keyLookups += 1;
    return issuer.verificationKeys(...args);
  };
  const { app } = await buildGateway(t, { auth: auth.url, orders: orders.url, catalog: catalog.url, issuer: { ...issuer, verificationKeys: countingKeys }, env });
  return { app, issuer, auth, orders, catalog, exchanges, keysByApiKey, keyLookups: () => keyLookups };
}

t.test('access tokens at the edge', async (t) => {
  const { app, issuer, orders, catalog, keyLookups } = await setUp(t);
  const stranger = await createTestTokenIssuer();

  t.test('a protected route without credentials: 401 with a challenge, and the service never sees it', async (t) => {
    const before = orders.seen.length;
    const response = await app.inject({ method: 'GET', url: '/v1/orders' });
    t.equal(response.statusCode, 401);
    t.equal(response.headers['www-authenticate'], 'Bearer realm="shop"');
    t.match(problemOf(response), { code: 'AUTH_TOKEN_MISSING', status: 401 });
    t.equal(orders.seen.length, before);
  });

  t.test('bad tokens are refused before they reach a service', async (t) => {
    const before = orders.seen.length;
    const cases: [string, Record<string, string>, RegExp][] = [
      ['bad signature (another key)', bearer(await stranger.tokenFor({})), /invalid_token/],
      ['expired', bearer(await issuer.tokenFor({ ttlSeconds: -10 })), /error="invalid_token", error_description="the token has expired"/],
      ['not a JWT', bearer('not-a-token'), /invalid_token/],
      ['not Bearer', { authorization: 'Basic dXNlcjpwYXNz' }, /error="invalid_request"/],
      ['two credentials', { ...bearer(await issuer.tokenFor({})), 'x-api-key': 'sk_whatever' }, /error="invalid_request"/],
    ];
    for (const [label, headers, challenge] of cases) {
      const response = await app.inject({ method: 'GET', url: `/v1/orders/${ORDER_ID}`, headers });
      t.equal(response.statusCode, 401, label);
      t.match(response.headers['www-authenticate'], challenge, label);
      t.equal(problemOf(response).code, 'AUTH_TOKEN_INVALID', label);
    }
    t.equal(orders.seen.length, before, 'no bad token reached the orders service');
  });

  t.test('a bad token is refused on a public route too; no token is fine there', async (t) => {
    const refused = await app.inject({ method: 'GET', url: '/v1/products', headers: bearer(await stranger.tokenFor({})) });
    t.equal(refused.statusCode, 401);
    const anonymous = await app.inject({ method: 'GET', url: '/v1/products' });
    t.equal(anonymous.statusCode, 200);
    t.notOk(catalog.seen.at(-1)?.headers.authorization, 'nothing invented for an anonymous request');
  });

  t.test('a good token is forwarded as it came, so the service verifies it again; it is verified once', async (t) => {
    const token = await issuer.tokenFor({ role: 'customer' });
    const lookupsBefore = keyLookups();
    for (let i = 0; i < 3; i += 1) {
      const response = await app.inject({ method: 'GET', url: `/v1/orders/${ORDER_ID}`, headers: bearer(token) });
      t.equal(response.statusCode, 200);
      t.equal(orders.seen.at(-1)?.headers.authorization, `Bearer ${token}`);
    }
    t.equal(keyLookups() - lookupsBefore, 1, 'later requests with the same token hit the cache');
  });
});

t.test('API keys at the edge (auth faked: exchange counting)', async (t) => {
  const { app, issuer, orders, exchanges, keysByApiKey } = await setUp(t, { API_KEY_CACHE_MS: '300' });
  const apiKey = `sk_${randomUUID()}`;
  const keyId = randomUUID();
  keysByApiKey.set(apiKey, await issuer.tokenFor({ userId: keyId, role: 'service', scopes: ['orders:read:all'] }));

  t.test('the key is exchanged once, the token forwarded, the key itself never', async (t) => {
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => app.inject({ method: 'GET', url: '/v1/orders', headers: { 'x-api-key': apiKey } })),
    );
    t.same(responses.map((response) => response.statusCode), [200, 200, 200, 200, 200]);
    t.equal(exchanges.filter((key) => key === apiKey).length, 1, 'concurrent requests share one exchange');
    const seen = orders.seen.at(-1)!.headers;
    t.equal(seen.authorization, `Bearer ${keysByApiKey.get(apiKey)}`);
    t.notOk(seen['x-api-key'], 'the key stays at the edge');
  });

  t.test('after the cache time the key is exchanged again, so a revoked key stops working', async (t) => {
    keysByApiKey.delete(apiKey);
    const refused = await eventuallyStatus(app, apiKey, 401);
    t.match(problemOf(refused), { code: 'AUTH_API_KEY_INVALID' });
    t.match(refused.headers['www-authenticate'], /ApiKey/);
    t.ok(exchanges.filter((key) => key === apiKey).length >= 2);
  });

  t.test('an unknown key is 401, and a flood of it costs auth one exchange per cache period', async (t) => {
    const unknown = `sk_${randomUUID()}`;
    const started = Date.now();
    for (let i = 0; i < 5; i += 1) {
      const response = await app.inject({ method: 'GET', url: '/v1/orders', headers: { 'x-api-key': unknown } });
      t.equal(response.statusCode, 401);
    }
    // One exchange per 300 ms cache period the flood spanned (a loaded machine stretches it), not one per request.
    const periods = Math.floor((Date.now() - started) / 300) + 1;
    const exchanged = exchanges.filter((key) => key === unknown).length;
    t.ok(exchanged <= periods, `${exchanged} exchanges for 5 requests over ${periods} cache period(s)`);
  });
});

t.test('auth cannot exchange keys: a prompt 503, not a 401 (the key may be fine)', async (t) => {
  const orders = await startFakeUpstream(t, 'orders', (app) => {
    app.get('/v1/orders', async () => ({ items: [], nextCursor: null }));
  });
  const { app } = await buildGateway(t, { auth: await closedPortUrl(), orders: orders.url });
  const response = await app.inject({ method: 'GET', url: '/v1/orders', headers: { 'x-api-key': 'sk_some-key' } });
  t.equal(response.statusCode, 503);
  t.match(problemOf(response), { code: 'GATEWAY_UPSTREAM_UNAVAILABLE', detail: /auth/ });
  t.equal(orders.seen.length, 0);
});

function eventuallyStatus(app: Awaited<ReturnType<typeof setUp>>['app'], apiKey: string, status: number) {
  return probeUntil(() => app.inject({ method: 'GET', url: '/v1/orders', headers: { 'x-api-key': apiKey } }), (response) => response.statusCode === status, 10_000);
}
