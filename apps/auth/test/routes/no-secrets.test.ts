import type { InjectOptions } from 'fastify';
import t from 'tap';
import { ADMIN, bearer, build, register, tokensFor } from '../helper';

t.test('no response ever contains a password hash or a token hash', async (t) => {
  const { app } = await build(t);
  const bodies: string[] = [];
  const call = async (options: InjectOptions) => {
    const response = await app.inject(options);
    bodies.push(response.body, JSON.stringify(response.headers));
    return response;
  };
  await register(app, 'ola@example.test', 'ola password 1');
  const admin = await tokensFor(app, ADMIN.email, ADMIN.password);
  const customer = await tokensFor(app, 'ola@example.test', 'ola password 1');
  await call({ method: 'POST', url: '/v1/auth/register', payload: { email: 'ola@example.test', password: 'ola password 1', name: 'Ola' } });
  await call({ method: 'POST', url: '/v1/auth/login', payload: { email: 'ola@example.test', password: 'ola password 1' } });
  await call({ method: 'POST', url: '/v1/auth/login', payload: { email: 'ola@example.test', password: 'wrong' } });
  await call({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: customer.refreshToken } });
  await call({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: customer.refreshToken } });
  await call({ method: 'GET', url: '/v1/auth/me', headers: bearer(customer.accessToken) });
  await call({ method: 'GET', url: '/v1/users', headers: bearer(admin.accessToken) });
  const key = (await call({ method: 'POST', url: '/v1/auth/api-keys', payload: { name: 'k', scopes: [] }, headers: bearer(admin.accessToken) })).json();
  await call({ method: 'GET', url: '/v1/auth/api-keys', headers: bearer(admin.accessToken) });
  await call({ method: 'POST', url: '/internal/v1/api-keys/exchange', headers: { 'x-api-key': key.key } });

  const secrets: string[] = [
    ...(await app.db.query('SELECT password_hash AS value FROM users')).map((row: { value: string }) => row.value),
    ...(await app.db.query('SELECT token_hash AS value FROM refresh_tokens')).map((row: { value: string }) => row.value),
    ...(await app.db.query('SELECT key_hash AS value FROM api_keys')).map((row: { value: string }) => row.value),
  ];
  t.ok(secrets.length >= 5, `checked ${secrets.length} stored hashes`);
  const everything = bodies.join('\n');
  for (const secret of secrets) t.notOk(everything.includes(secret), 'a stored hash leaked into a response');
  t.notMatch(everything, /\$argon2/);
});
