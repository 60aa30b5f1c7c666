import t from 'tap';
import { ADMIN, bearer, build, login, problemOf, register, tokensFor } from '../helper';

t.test('register', async (t) => {
  const { app } = await build(t);

  t.test('creates a customer and never returns the hash', async (t) => {
    const response = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'Ann@Example.test', password: 'correct horse battery', name: 'Ann' } });
    t.equal(response.statusCode, 201);
    const user = response.json();
    t.match(user, { id: /^[0-9a-f-]{36}$/, email: 'ann@example.test', name: 'Ann', role: 'customer', createdAt: /Z$/ });
    t.same(Object.keys(user).sort(), ['createdAt', 'email', 'id', 'name', 'role']);
    t.notMatch(response.body, /argon2|password/i);
  });

  t.test('a taken email (any case) is 409 AUTH_EMAIL_TAKEN', async (t) => {
    await register(app, 'bob@example.test');
    const response = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'BOB@example.test', password: 'another password', name: 'Bob 2' } });
    t.equal(response.statusCode, 409);
    t.equal(response.headers['content-type'], 'application/problem+json');
    t.match(problemOf(response), { code: 'AUTH_EMAIL_TAKEN', status: 409, type: 'urn:shop:problem:auth-email-taken', instance: '/v1/auth/register' });
  });

  t.test('weak, overlong passwords and bad emails are 400 with errors[]', async (t) => {
    const cases = [
      { payload: { email: 'c@example.test', password: 'short', name: 'C' }, path: '/body/password' },
      { payload: { email: 'c@example.test', password: 'x'.repeat(129), name: 'C' }, path: '/body/password' },
      { payload: { email: 'not-an-email', password: 'long enough pw', name: 'C' }, path: '/body/email' },
      { payload: { email: 'c@example.test', password: 'long enough pw' }, path: '/body/name' },
    ];
    for (const { payload, path } of cases) {
      const response = await app.inject({ method: 'POST', url: '/v1/auth/register', payload });
      t.equal(response.statusCode, 400, path);
      const problem = problemOf(response);
      t.equal(problem.code, 'REQUEST_VALIDATION_FAILED');
      t.ok(problem.errors?.some((error) => error.path === path), `errors[] names ${path}`);
    }
  });

  t.test('a client cannot register itself as admin (unknown properties are 400)', async (t) => {
    const response = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'mallory@example.test', password: 'long enough pw', name: 'M', role: 'admin' } });
    t.equal(response.statusCode, 400);
    t.match(problemOf(response).errors, [{ path: '/body/role' }]);
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'mallory@example.test', password: 'long enough pw' } });
    t.equal(login.statusCode, 401, 'and no account was created');
  });
});

t.test('login', async (t) => {
  const { app } = await build(t);
  await register(app, 'dana@example.test', 'dana password 1');

  t.test('returns a token pair', async (t) => {
    const response = await login(app, 'dana@example.test', 'dana password 1');
    t.equal(response.statusCode, 200);
    t.equal(response.headers['cache-control'], 'no-store');
    const body = response.json();
    t.match(body, { accessToken: /^ey/, refreshToken: /^rt_/, tokenType: 'Bearer', expiresIn: 900 });
    t.ok(body.expiresIn <= 900);
  });

  t.test('a wrong password and an unknown email answer the same 401', async (t) => {
    const wrong = await login(app, 'dana@example.test', 'not the password');
    const unknown = await login(app, 'nobody@example.test', 'not the password');
    t.equal(wrong.statusCode, 401);
    t.equal(unknown.statusCode, 401);
    const strip = ({ requestId: _requestId, ...rest }: Record<string, unknown>) => rest;
    t.same(strip(problemOf(wrong)), strip(problemOf(unknown)));
    t.equal(problemOf(wrong).code, 'AUTH_INVALID_CREDENTIALS');
  });
});

t.test('me', async (t) => {
  const { app } = await build(t);
  await register(app, 'erin@example.test', 'erin password 1');
  const { accessToken } = await tokensFor(app, 'erin@example.test', 'erin password 1');

  const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(accessToken) });
  t.equal(me.statusCode, 200);
  t.match(me.json(), { email: 'erin@example.test', role: 'customer' });
  t.notMatch(me.body, /hash/i);

  const anonymous = await app.inject({ method: 'GET', url: '/v1/auth/me' });
  t.equal(anonymous.statusCode, 401);
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="shop"');
  t.equal(problemOf(anonymous).code, 'AUTH_TOKEN_MISSING');

  const garbage = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer('not.a.jwt') });
  t.equal(garbage.statusCode, 401);
  t.match(garbage.headers['www-authenticate'], /error="invalid_token"/);

  const admin = await tokensFor(app, ADMIN.email, ADMIN.password);
  const adminMe = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(admin.accessToken) });
  t.match(adminMe.json(), { email: ADMIN.email, role: 'admin' });
});
