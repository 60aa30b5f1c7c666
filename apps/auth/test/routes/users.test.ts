import { waitFor } from '@shop/testing';
import t from 'tap';
import { ADMIN, bearer, build, problemOf, register, tokensFor } from '../helper';

t.test('users administration', async (t) => {
  const { app } = await build(t);
  const admin = await tokensFor(app, ADMIN.email, ADMIN.password);
  const ivy = await register(app, 'ivy@example.test', 'ivy password 1');
  const customer = await tokensFor(app, 'ivy@example.test', 'ivy password 1');

  t.test('list: admins only, no hashes, paged', async (t) => {
    t.equal((await app.inject({ method: 'GET', url: '/v1/users' })).statusCode, 401);
    t.equal((await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(customer.accessToken) })).statusCode, 403);
    const response = await app.inject({ method: 'GET', url: '/v1/users?limit=1', headers: bearer(admin.accessToken) });
    t.equal(response.statusCode, 200);
    const page = response.json();
    t.equal(page.items.length, 1);
    t.type(page.nextCursor, 'string');
    t.notMatch(response.body, /argon2|password/i);
    const next = await app.inject({ method: 'GET', url: `/v1/users?limit=1&cursor=${page.nextCursor}`, headers: bearer(admin.accessToken) });
    t.not(next.json().items[0].id, page.items[0].id);
    const badLimit = await app.inject({ method: 'GET', url: '/v1/users?limit=101', headers: bearer(admin.accessToken) });
    t.equal(badLimit.statusCode, 400);
    const badCursor = await app.inject({ method: 'GET', url: '/v1/users?cursor=garbage', headers: bearer(admin.accessToken) });
    t.equal(badCursor.statusCode, 400);
    t.match(problemOf(badCursor).errors, [{ path: '/querystring/cursor' }]);
  });

  t.test('change a role; tokens issued afterwards carry it', async (t) => {
    const promote = await app.inject({ method: 'PATCH', url: `/v1/users/${ivy.id}`, payload: { role: 'admin' }, headers: bearer(admin.accessToken) });
    t.equal(promote.statusCode, 200);
    t.match(promote.json(), { id: ivy.id, role: 'admin' });
    const fresh = await tokensFor(app, 'ivy@example.test', 'ivy password 1');
    const list = await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(fresh.accessToken) });
    t.equal(list.statusCode, 200, 'the new token carries users:admin');

    const mergePatch = await app.inject({
      method: 'PATCH',
      url: `/v1/users/${ivy.id}`,
      payload: JSON.stringify({ role: 'customer' }),
      headers: { ...bearer(admin.accessToken), 'content-type': 'application/merge-patch+json' },
    });
    t.equal(mergePatch.statusCode, 200);
    t.equal(mergePatch.json().role, 'customer');
  });

  t.test('bad input and unknown users', async (t) => {
    const patch = (id: string, payload: object, token = admin.accessToken) =>
      app.inject({ method: 'PATCH', url: `/v1/users/${id}`, payload, headers: bearer(token) });
    t.equal((await patch(ivy.id, { role: 'superuser' })).statusCode, 400);
    t.equal((await patch(ivy.id, { role: 'admin', email: 'x@y.z' })).statusCode, 400, 'only the role can change here');
    t.equal((await patch('00000000-0000-4000-8000-000000000000', { role: 'admin' })).statusCode, 404);
    t.equal((await patch('nope', { role: 'admin' })).statusCode, 404);
    // Ivy's role changed twice above: her first token is revoked; a fresh one is a customer's.
    await waitFor('the old token to be refused', async () => (await patch(ivy.id, { role: 'admin' }, customer.accessToken)).statusCode === 401);
    const current = await tokensFor(app, 'ivy@example.test', 'ivy password 1');
    t.equal((await patch(ivy.id, { role: 'admin' }, current.accessToken)).statusCode, 403);
  });

  t.test('the last admin cannot be demoted', async (t) => {
    const me = (await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(admin.accessToken) })).json();
    const response = await app.inject({ method: 'PATCH', url: `/v1/users/${me.id}`, payload: { role: 'customer' }, headers: bearer(admin.accessToken) });
    t.equal(response.statusCode, 409);
    t.equal(problemOf(response).code, 'AUTH_LAST_ADMIN');
  });
});
