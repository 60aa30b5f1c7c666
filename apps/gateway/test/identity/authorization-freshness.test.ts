import { randomUUID } from 'node:crypto';
import { eventually, startPrivateRedis } from '@shop/testing';
import { publishGrantRevoked, publishUserAuthorization } from '@shop/token-verifier';
import t from 'tap';
import { bearer, buildGateway, problemOf, startFakeUpstream } from '../helper';

const PRODUCT_ID = '7b0f1f4e-0000-4000-8000-000000000001';

async function fakeCatalog(t: Parameters<typeof startFakeUpstream>[0]) {
  return startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products', async () => ({ items: [], nextCursor: null }));
    app.post('/v1/products', async (_request, reply) => reply.code(201).send({ id: PRODUCT_ID }));
  });
}

t.test('the edge refuses tokens whose owner’s rights changed, before any service sees them', async (t) => {
  const catalog = await fakeCatalog(t);
  const { app, issuer } = await buildGateway(t, { catalog: catalog.url });
  const create = (token: string) => app.inject({ method: 'POST', url: '/v1/products', headers: bearer(token), payload: {} });

  const adminId = randomUUID();
  const admin = await issuer.tokenFor({ userId: adminId, role: 'admin', authzVersion: 3 });
  t.equal((await create(admin)).statusCode, 201);
  await publishUserAuthorization(app.redis, adminId, { version: 4, disabled: false }, 60);
  const demoted = await eventually(async () => {
    const response = await create(admin);
    return response.statusCode === 401 ? response : undefined;
  });
  t.equal(problemOf(demoted).code, 'AUTH_TOKEN_REVOKED');
  t.match(demoted.headers['www-authenticate'], /invalid_token/);
  const reachedCatalog = catalog.seen.length;
  t.equal((await create(admin)).statusCode, 401);

  const userId = randomUUID();
  const customer = await issuer.tokenFor({ userId });
  await publishUserAuthorization(app.redis, userId, { version: 1, disabled: true }, 60);
  const disabled = await app.inject({ method: 'GET', url: '/v1/products', headers: bearer(customer) });
  t.equal(disabled.statusCode, 403, 'a disabled user’s token is refused even on a public route');
  t.equal(problemOf(disabled).code, 'AUTH_ACCOUNT_DISABLED');

  const grantId = randomUUID();
  const signedOut = await issuer.tokenFor({ grantId });
  await publishGrantRevoked(app.redis, grantId, 60);
  t.equal(problemOf(await app.inject({ method: 'GET', url: '/v1/products', headers: bearer(signedOut) })).code, 'AUTH_TOKEN_REVOKED');
  t.equal(catalog.seen.length, reachedCatalog, 'no refused request reached the catalog');
});

t.test('Redis unreachable: privileged tokens get 503 at the edge, customers go on', async (t) => {
  const catalog = await fakeCatalog(t);
  const redis = await startPrivateRedis(t);
  const { app, issuer } = await buildGateway(t, { catalog: catalog.url, env: { REDIS_URL: redis.url } });
  await eventually(() => (app.redis.status === 'ready' ? true : undefined));
  const admin = await issuer.tokenFor({ role: 'admin' });
  const customer = await issuer.tokenFor({});
  await redis.stop();
  await eventually(() => (app.redis.status !== 'ready' ? true : undefined));

  const refused = await app.inject({ method: 'POST', url: '/v1/products', headers: bearer(admin), payload: {} });
  t.equal(refused.statusCode, 503);
  t.equal(problemOf(refused).code, 'AUTH_FRESHNESS_UNAVAILABLE');
  t.equal(refused.headers['retry-after'], '1');
  t.equal((await app.inject({ method: 'GET', url: '/v1/products', headers: bearer(customer) })).statusCode, 200);

  await redis.start();
  await eventually(() => (app.redis.status === 'ready' ? true : undefined));
  t.equal((await app.inject({ method: 'POST', url: '/v1/products', headers: bearer(admin), payload: {} })).statusCode, 201, 'back once Redis is');
});

t.test('X-Forwarded-For is believed only from the proxies in TRUST_PROXY (default: none)', async (t) => {
  const catalog = await fakeCatalog(t);
  const limits = { RATE_LIMIT_ANONYMOUS_MAX: '2', RATE_LIMIT_LOGIN_MAX: '2', RATE_LIMIT_SYNC_MS: '0' };

  t.test('default: a forged header changes nothing', async (t) => {
    const { app } = await buildGateway(t, { catalog: catalog.url, env: limits });
    const statuses = [];
    for (let index = 0; index < 5; index += 1) {
      const response = await app.inject({ method: 'GET', url: '/v1/products', remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': `203.0.113.${index}` } });
      statuses.push(response.statusCode);
    }
    t.same(statuses, [200, 200, 429, 429, 429], 'one address, however many it claims to be');
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: {}, remoteAddress: '10.0.0.6', headers: { 'x-forwarded-for': '203.0.113.99' } });
    await app.inject({ method: 'POST', url: '/v1/auth/login', payload: {}, remoteAddress: '10.0.0.6', headers: { 'x-forwarded-for': '203.0.113.98' } });
    const third = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: {}, remoteAddress: '10.0.0.6', headers: { 'x-forwarded-for': '203.0.113.97' } });
    t.not(login.statusCode, 429);
    t.equal(third.statusCode, 429, 'nor does the login limit');
  });

  t.test('a listed proxy: its clients are told apart, and only its own header counts', async (t) => {
    const { app } = await buildGateway(t, { catalog: catalog.url, env: { ...limits, TRUST_PROXY: '10.0.0.1' } });
    const viaProxy = (client: string) => app.inject({ method: 'GET', url: '/v1/products', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': client } });
    t.equal((await viaProxy('203.0.113.1')).statusCode, 200);
    t.equal((await viaProxy('203.0.113.1')).statusCode, 200);
    t.equal((await viaProxy('203.0.113.1')).statusCode, 429, 'the client behind the proxy is limited');
    t.equal((await viaProxy('203.0.113.2')).statusCode, 200, 'another client behind it is not');
    const chained = await viaProxy('198.51.100.66, 203.0.113.1');
    t.equal(chained.statusCode, 429, 'a client cannot prepend its own claim: the address the proxy saw is the one counted');
  });
});
