import t from 'tap';
import { ADMIN, bearer, build, problemOf, tokensFor } from '../helper';

t.test('text that PostgreSQL cannot store is a 400 with its pointer, never a 500', async (t) => {
  const { app } = await build(t);
  const admin = await tokensFor(app, ADMIN.email, ADMIN.password);
  const post = (url: string, body: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/json', ...headers } });

  for (const bad of ['\\u0000', '\\ud800']) {
    const cases: [string, string, string, Record<string, string>?][] = [
      ['/v1/auth/register', `{"email":"ann${bad}@example.test","password":"correct horse battery","name":"Ann"}`, '/body/email'],
      ['/v1/auth/register', `{"email":"ann@example.test","password":"correct horse battery","name":"A${bad}nn"}`, '/body/name'],
      ['/v1/auth/register', `{"email":"ann@example.test","password":"correct horse ${bad}","name":"Ann"}`, '/body/password'],
      ['/v1/auth/login', `{"email":"a${bad}@example.test","password":"whatever it is"}`, '/body/email'],
      ['/v1/auth/refresh', `{"refreshToken":"rt${bad}"}`, '/body/refreshToken'],
      ['/v1/auth/api-keys', `{"name":"sync${bad}","scopes":[]}`, '/body/name', bearer(admin.accessToken)],
    ];
    for (const [url, body, path, headers] of cases) {
      const response = await post(url, body, headers);
      t.equal(response.statusCode, 400, `${url} ${body}`);
      t.match(problemOf(response), { code: 'REQUEST_VALIDATION_FAILED', errors: [{ path }] }, `${url}: ${path}`);
    }
  }
  const users = await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(admin.accessToken) });
  t.equal(users.json().items.length, 1, 'nobody was registered by any of it');
});
