import t from 'tap';
import { AUTH_ADMIN, bearer, buildGateway, problemOf, startRealAuth } from '../helper';

t.test('API keys against the real auth service', async (t) => {
  const auth = await startRealAuth(t);
  // Tokens are verified with auth's own JWKS, fetched over HTTP like in production.
  const { app } = await buildGateway(t, { auth: auth.url, issuer: null });

  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: AUTH_ADMIN });
  t.equal(login.statusCode, 200, 'login through the gateway');
  const adminToken = login.json<{ accessToken: string }>().accessToken;

  const created = await app.inject({ method: 'POST', url: '/v1/auth/api-keys', headers: bearer(adminToken), payload: { name: 'reporting', scopes: ['users:admin'] } });
  t.equal(created.statusCode, 201);
  const { id, key } = created.json<{ id: string; key: string }>();

  t.test('a key is exchanged at the edge and the service accepts the token it gets', async (t) => {
    const users = await app.inject({ method: 'GET', url: '/v1/users', headers: { 'x-api-key': key } });
    t.equal(users.statusCode, 200);
    t.ok(users.json<{ items: { email: string }[] }>().items.some((user) => user.email === AUTH_ADMIN.email));
    const again = await app.inject({ method: 'GET', url: '/v1/users?limit=1', headers: { 'x-api-key': key } });
    t.equal(again.statusCode, 200);
  });

  t.test('an unknown key is 401 AUTH_API_KEY_INVALID', async (t) => {
    const response = await app.inject({ method: 'GET', url: '/v1/users', headers: { 'x-api-key': 'sk_not-a-real-key' } });
    t.equal(response.statusCode, 401);
    t.match(problemOf(response), { code: 'AUTH_API_KEY_INVALID', status: 401 });
  });

  t.test('a revoked key stops working within 5 seconds', async (t) => {
    t.equal((await app.inject({ method: 'GET', url: '/v1/users', headers: { 'x-api-key': key } })).statusCode, 200, 'works, and is cached');
    const revoke = await app.inject({ method: 'DELETE', url: `/v1/auth/api-keys/${id}`, headers: bearer(adminToken) });
    t.equal(revoke.statusCode, 204);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 6_000) {
      status = (await app.inject({ method: 'GET', url: '/v1/users', headers: { 'x-api-key': key } })).statusCode;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const elapsed = Date.now() - revokedAt;
    t.equal(status, 401, 'refused');
    t.ok(elapsed < 5_000, `within 5 s of the revocation (took ${elapsed} ms)`);
  });
});
