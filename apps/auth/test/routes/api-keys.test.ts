import t from 'tap';
import { ADMIN, bearer, build, problemOf, register, tokensFor } from '../helper';

t.test('API keys', async (t) => {
  const { app } = await build(t, { API_KEY_TOKEN_TTL_SECONDS: '30' });
  const admin = await tokensFor(app, ADMIN.email, ADMIN.password);
  await register(app, 'hal@example.test', 'hal password 1');
  const customer = await tokensFor(app, 'hal@example.test', 'hal password 1');
  const create = (payload: unknown, token = admin.accessToken) =>
    app.inject({ method: 'POST', url: '/v1/auth/api-keys', payload: payload as object, headers: bearer(token) });
  const exchange = (key: string) => app.inject({ method: 'POST', url: '/internal/v1/api-keys/exchange', headers: { 'x-api-key': key } });

  t.test('needs users:admin: anonymous 401, customer 403', async (t) => {
    const anonymous = await app.inject({ method: 'POST', url: '/v1/auth/api-keys', payload: { name: 'x', scopes: [] } });
    t.equal(anonymous.statusCode, 401);
    t.ok(anonymous.headers['www-authenticate']);
    const forbidden = await create({ name: 'x', scopes: [] }, customer.accessToken);
    t.equal(forbidden.statusCode, 403);
    t.equal(problemOf(forbidden).code, 'AUTH_SCOPE_REQUIRED');
    const list = await app.inject({ method: 'GET', url: '/v1/auth/api-keys', headers: bearer(customer.accessToken) });
    t.equal(list.statusCode, 403);
  });

  t.test('created with scopes, shown once, listed without secrets, exchanged, revoked', async (t) => {
    const created = await create({ name: 'inventory sync', scopes: ['catalog:write'] });
    t.equal(created.statusCode, 201);
    t.equal(created.headers['cache-control'], 'no-store');
    const body = created.json();
    t.match(body, { id: /^[0-9a-f-]{36}$/, name: 'inventory sync', scopes: ['catalog:write'], key: /^sk_/ });

    const stored: { key_hash: string }[] = await app.db.query('SELECT key_hash FROM api_keys WHERE id = $1', [body.id]);
    t.not(stored[0]!.key_hash, body.key, 'only a hash is stored');

    const list = await app.inject({ method: 'GET', url: '/v1/auth/api-keys', headers: bearer(admin.accessToken) });
    t.equal(list.statusCode, 200);
    const listed = list.json().items.find((item: { id: string }) => item.id === body.id);
    t.match(listed, { id: body.id, name: 'inventory sync', scopes: ['catalog:write'] });
    t.notOk('key' in listed, 'the secret is never listed');
    t.notMatch(list.body, body.key);
    t.notMatch(list.body, /hash/i);

    const exchanged = await exchange(body.key);
    t.equal(exchanged.statusCode, 200);
    t.match(exchanged.json(), { accessToken: /^ey/, tokenType: 'Bearer', expiresIn: 30 });
    const [, payload] = exchanged.json().accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    t.match(claims, { sub: body.id, role: 'service', scope: 'catalog:write' });

    const revoke = await app.inject({ method: 'DELETE', url: `/v1/auth/api-keys/${body.id}`, headers: bearer(admin.accessToken) });
    t.equal(revoke.statusCode, 204);
    const afterRevoke = await exchange(body.key);
    t.equal(afterRevoke.statusCode, 401);
    t.equal(problemOf(afterRevoke).code, 'AUTH_API_KEY_INVALID');
    const again = await app.inject({ method: 'DELETE', url: `/v1/auth/api-keys/${body.id}`, headers: bearer(admin.accessToken) });
    t.equal(again.statusCode, 404);
    t.equal(problemOf(again).code, 'AUTH_API_KEY_NOT_FOUND');
    const listAfter = await app.inject({ method: 'GET', url: '/v1/auth/api-keys', headers: bearer(admin.accessToken) });
    t.notOk(listAfter.json().items.some((item: { id: string }) => item.id === body.id), 'revoked keys are not listed');
  });

  t.test('bad input', async (t) => {
    t.equal((await create({ name: 'x', scopes: ['root'] })).statusCode, 400, 'unknown scope');
    t.equal((await create({ name: 'x', scopes: ['catalog:write', 'catalog:write'] })).statusCode, 400, 'duplicate scope');
    t.equal((await create({ name: '', scopes: [] })).statusCode, 400, 'empty name');
    t.equal((await create({ name: 'x', scopes: [], key: 'sk_chosen' })).statusCode, 400, 'a client cannot choose the secret');
    t.equal((await exchange('sk_not_a_key')).statusCode, 401);
    const noHeader = await app.inject({ method: 'POST', url: '/internal/v1/api-keys/exchange' });
    t.equal(noHeader.statusCode, 401);
    const malformedId = await app.inject({ method: 'DELETE', url: '/v1/auth/api-keys/not-a-uuid', headers: bearer(admin.accessToken) });
    t.equal(malformedId.statusCode, 404);
  });

  t.test('the list pages with a cursor and a Link header', async (t) => {
    for (let index = 0; index < 3; index += 1) await create({ name: `paged ${index}`, scopes: [] });
    const seen = new Set<string>();
    let url: string | null = '/v1/auth/api-keys?limit=2';
    let pages = 0;
    while (url) {
      const response = await app.inject({ method: 'GET', url, headers: bearer(admin.accessToken) });
      t.equal(response.statusCode, 200);
      const page = response.json();
      for (const item of page.items) {
        t.notOk(seen.has(item.id), 'no key is listed twice');
        seen.add(item.id);
      }
      const link = response.headers.link as string | undefined;
      if (page.nextCursor) t.match(link, /^<\/v1\/auth\/api-keys\?limit=2&cursor=.+>; rel="next"$/);
      else t.notOk(link);
      url = link ? link.slice(1, link.indexOf('>')) : null;
      pages += 1;
    }
    t.ok(pages >= 2);
    t.ok(seen.size >= 3);
  });
});
