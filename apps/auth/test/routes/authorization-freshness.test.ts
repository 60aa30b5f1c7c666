import { startPrivateRedis, waitFor } from '@shop/testing';
import type { InjectOptions } from 'fastify';
import { decodeJwt } from 'jose';
import t from 'tap';
import { ADMIN, bearer, build, problemOf, register, tokensFor } from '../helper';

type App = Awaited<ReturnType<typeof build>>['app'];

/** Polls a request until it answers `status`; returns how long that took (the change-to-effect delay). */
async function msUntilStatus(app: App, request: InjectOptions, status: number, deadlineMs = 15_000): Promise<number> {
  const started = Date.now();
  await waitFor(`status ${status}`, async () => (await app.inject(request)).statusCode === status, deadlineMs);
  return Date.now() - started;
}

const patchUser = (app: App, token: string, id: string, payload: unknown) =>
  app.inject({ method: 'PATCH', url: `/v1/users/${id}`, payload: payload as object, headers: bearer(token) });

t.test('a demoted admin loses admin rights within the bound, and cannot promote themselves back', async (t) => {
  const { app } = await build(t);
  const root = await tokensFor(app, ADMIN.email, ADMIN.password);
  const eve = await register(app, 'eve@example.test', 'eve password 1');
  t.equal((await patchUser(app, root.accessToken, eve.id, { role: 'admin' })).statusCode, 200);
  const eveAdmin = await tokensFor(app, 'eve@example.test', 'eve password 1');
  t.equal((await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(eveAdmin.accessToken) })).statusCode, 200);

  const demoted = await patchUser(app, root.accessToken, eve.id, { role: 'customer' });
  t.equal(demoted.statusCode, 200);
  t.match(demoted.json(), { role: 'customer', disabled: false });
  // At once, even inside the verifiers' cache window: the change itself is checked on the database.
  const selfPromotion = await patchUser(app, eveAdmin.accessToken, eve.id, { role: 'admin' });
  t.ok([401, 403].includes(selfPromotion.statusCode), `self-promotion refused (${selfPromotion.statusCode})`);
  const ms = await msUntilStatus(app, { method: 'GET', url: '/v1/users', headers: bearer(eveAdmin.accessToken) }, 401);
  t.ok(ms <= 5_000, `the old token stopped working after ${ms} ms`);
  const refused = await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(eveAdmin.accessToken) });
  t.equal(problemOf(refused).code, 'AUTH_TOKEN_REVOKED');
  t.match(refused.headers['www-authenticate'], /invalid_token/);
  const me = await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(root.accessToken) });
  t.equal(me.statusCode, 200, "the demoting admin's token is unaffected");

  const refreshed = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: eveAdmin.refreshToken } });
  t.equal(refreshed.statusCode, 200, 'the session goes on: a refresh gives a token with the current role');
  const customerToken = refreshed.json().accessToken as string;
  t.match(decodeJwt(customerToken), { role: 'customer', scope: '' });
  t.equal((await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(customerToken) })).statusCode, 403);
  t.equal((await patchUser(app, customerToken, eve.id, { role: 'admin' })).statusCode, 403);
});

t.test('a disabled user cannot log in, refresh, or use any token; re-enabled, they log in again', async (t) => {
  const { app } = await build(t);
  const root = await tokensFor(app, ADMIN.email, ADMIN.password);
  const fay = await register(app, 'fay@example.test', 'fay password 1');
  const session = await tokensFor(app, 'fay@example.test', 'fay password 1');

  const disabled = await patchUser(app, root.accessToken, fay.id, { disabled: true });
  t.equal(disabled.statusCode, 200);
  t.match(disabled.json(), { id: fay.id, disabled: true, role: 'customer' });
  const ms = await msUntilStatus(app, { method: 'GET', url: '/v1/auth/me', headers: bearer(session.accessToken) }, 403);
  t.ok(ms <= 5_000, `the token stopped working after ${ms} ms`);
  t.equal(problemOf(await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(session.accessToken) })).code, 'AUTH_ACCOUNT_DISABLED');

  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'fay@example.test', password: 'fay password 1' } });
  t.equal(login.statusCode, 403);
  t.equal(problemOf(login).code, 'AUTH_ACCOUNT_DISABLED');
  const wrong = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'fay@example.test', password: 'not it' } });
  t.equal(wrong.statusCode, 401, 'without the password, a disabled account looks like any other');
  t.equal((await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: session.refreshToken } })).statusCode, 401);

  const listed = await app.inject({ method: 'GET', url: '/v1/users?limit=100', headers: bearer(root.accessToken) });
  t.match(listed.json().items.find((user: { id: string }) => user.id === fay.id), { disabled: true });

  t.match((await patchUser(app, root.accessToken, fay.id, { disabled: false })).json(), { disabled: false });
  const again = await tokensFor(app, 'fay@example.test', 'fay password 1');
  t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(again.accessToken) })).statusCode, 200);
  const old = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(session.accessToken) });
  t.ok([401, 403].includes(old.statusCode), 'tokens from before stay dead');
  await msUntilStatus(app, { method: 'GET', url: '/v1/auth/me', headers: bearer(session.accessToken) }, 401);
  t.equal(problemOf(await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(session.accessToken) })).code, 'AUTH_TOKEN_REVOKED');
});

t.test('the patch is validated, and the last enabled admin stays', async (t) => {
  const { app } = await build(t);
  const root = await tokensFor(app, ADMIN.email, ADMIN.password);
  const rootId = decodeJwt(root.accessToken).sub!;
  for (const payload of [{}, { disabled: 'yes' }, { disabled: true, email: 'x@example.test' }]) {
    const response = await patchUser(app, root.accessToken, rootId, payload);
    t.equal(response.statusCode, 400, JSON.stringify(payload));
  }
  const last = await patchUser(app, root.accessToken, rootId, { disabled: true });
  t.equal(last.statusCode, 409);
  t.equal(problemOf(last).code, 'AUTH_LAST_ADMIN');
  const unknown = await patchUser(app, root.accessToken, '00000000-0000-4000-8000-000000000000', { disabled: true });
  t.equal(unknown.statusCode, 404);
});

t.test('logout ends the access tokens of that session, not the others', async (t) => {
  const { app } = await build(t);
  await register(app, 'gus@example.test', 'gus password 1');
  const laptop = await tokensFor(app, 'gus@example.test', 'gus password 1');
  const phone = await tokensFor(app, 'gus@example.test', 'gus password 1');
  t.equal((await app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refreshToken: laptop.refreshToken } })).statusCode, 204);
  const ms = await msUntilStatus(app, { method: 'GET', url: '/v1/auth/me', headers: bearer(laptop.accessToken) }, 401);
  t.ok(ms <= 5_000, `the signed-out session's token stopped after ${ms} ms`);
  t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(phone.accessToken) })).statusCode, 200);
});

t.test('API keys carry at most what their creator may do now, and die with a disabled creator', async (t) => {
  const { app } = await build(t);
  const root = await tokensFor(app, ADMIN.email, ADMIN.password);
  const hal = await register(app, 'hal@example.test', 'hal password 1');
  await patchUser(app, root.accessToken, hal.id, { role: 'admin' });
  const halAdmin = await tokensFor(app, 'hal@example.test', 'hal password 1');
  const created = await app.inject({ method: 'POST', url: '/v1/auth/api-keys', payload: { name: 'sync', scopes: ['catalog:write', 'orders:read:all'] }, headers: bearer(halAdmin.accessToken) });
  t.equal(created.statusCode, 201);
  const key = created.json().key as string;
  const exchange = () => app.inject({ method: 'POST', url: '/internal/v1/api-keys/exchange', headers: { 'x-api-key': key } });

  const before = await exchange();
  t.equal(before.statusCode, 200);
  const beforeClaims = decodeJwt(before.json().accessToken);
  t.match(beforeClaims, { role: 'service', scope: 'catalog:write orders:read:all', owner: hal.id, sid: created.json().id });

  await patchUser(app, root.accessToken, hal.id, { role: 'customer' });
  const after = await exchange();
  t.equal(after.statusCode, 200);
  t.equal(decodeJwt(after.json().accessToken).scope, '', "the key keeps none of the scopes its creator lost");
  const old = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(before.json().accessToken) });
  t.equal(old.statusCode, 401, 'a token exchanged before the demotion is revoked');

  await patchUser(app, root.accessToken, hal.id, { disabled: true });
  const dead = await exchange();
  t.equal(dead.statusCode, 401);
  t.equal(problemOf(dead).code, 'AUTH_API_KEY_INVALID');
  t.match(problemOf(dead).detail, /creator/);

  const noScopes = await app.inject({ method: 'POST', url: '/v1/auth/api-keys', payload: { name: 'empty', scopes: [] }, headers: bearer(root.accessToken) });
  const emptyToken = await app.inject({ method: 'POST', url: '/internal/v1/api-keys/exchange', headers: { 'x-api-key': noScopes.json().key } });
  t.equal(decodeJwt(emptyToken.json().accessToken).scope, '', 'a key without scopes gets a token without scopes');
});

t.test('revoking an API key revokes the tokens exchanged for it', async (t) => {
  const { app } = await build(t);
  const root = await tokensFor(app, ADMIN.email, ADMIN.password);
  const created = (await app.inject({ method: 'POST', url: '/v1/auth/api-keys', payload: { name: 'ci', scopes: ['users:admin'] }, headers: bearer(root.accessToken) })).json();
  const exchanged = await app.inject({ method: 'POST', url: '/internal/v1/api-keys/exchange', headers: { 'x-api-key': created.key } });
  const token = exchanged.json().accessToken as string;
  t.equal((await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(token) })).statusCode, 200);
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/auth/api-keys/${created.id}`, headers: bearer(root.accessToken) })).statusCode, 204);
  const ms = await msUntilStatus(app, { method: 'GET', url: '/v1/users', headers: bearer(token) }, 401);
  t.ok(ms <= 5_000, `the exchanged token stopped after ${ms} ms`);
});

t.test('Redis restarted empty: auth publishes recent changes again, so revoked tokens stay revoked', async (t) => {
  const redis = await startPrivateRedis(t);
  const { app } = await build(t, { REDIS_URL: redis.url });
  const root = await tokensFor(app, ADMIN.email, ADMIN.password);
  const ida = await register(app, 'ida@example.test', 'ida password 1');
  const session = await tokensFor(app, 'ida@example.test', 'ida password 1');
  await patchUser(app, root.accessToken, ida.id, { disabled: true });
  await msUntilStatus(app, { method: 'GET', url: '/v1/auth/me', headers: bearer(session.accessToken) }, 403);

  await redis.stop();
  await redis.start();
  // Until auth has reconnected and republished, nobody can confirm anything; then the record is back.
  await waitFor('the record to be republished', async () => (await app.redis.exists('authz:user:' + ida.id).catch(() => 0)) === 1, 10_000);
  const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(session.accessToken) });
  t.equal(me.statusCode, 403, 'still disabled after Redis lost its data');
});
