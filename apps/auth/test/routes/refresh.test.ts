import t from 'tap';
import { bearer, build, problemOf, register, tokensFor } from '../helper';

t.test('refresh rotation and reuse detection', async (t) => {
  const { app } = await build(t);
  await register(app, 'fay@example.test', 'fay password 1');
  const refresh = (refreshToken: string) => app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });

  t.test('a refresh token works once and yields a new pair', async (t) => {
    const first = await tokensFor(app, 'fay@example.test', 'fay password 1');
    const rotated = await refresh(first.refreshToken);
    t.equal(rotated.statusCode, 200);
    const second = rotated.json();
    t.match(second, { accessToken: /^ey/, refreshToken: /^rt_/, tokenType: 'Bearer' });
    t.not(second.refreshToken, first.refreshToken);
    const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(second.accessToken) });
    t.equal(me.statusCode, 200, 'the new access token works');
    const third = await refresh(second.refreshToken);
    t.equal(third.statusCode, 200, 'the successor can itself be rotated');
  });

  t.test('presenting a rotated token again revokes the whole family, the newest token too', async (t) => {
    const first = await tokensFor(app, 'fay@example.test', 'fay password 1');
    const second = (await refresh(first.refreshToken)).json();
    const third = (await refresh(second.refreshToken)).json();

    const replay = await refresh(first.refreshToken);
    t.equal(replay.statusCode, 401);
    t.equal(problemOf(replay).code, 'AUTH_INVALID_REFRESH_TOKEN');
    t.match(problemOf(replay).detail, /already used/);

    const newest = await refresh(third.refreshToken);
    t.equal(newest.statusCode, 401, 'the newest token of the family is dead too');
  });

  t.test('reuse revokes only that family: another login stays valid', async (t) => {
    const stolen = await tokensFor(app, 'fay@example.test', 'fay password 1');
    const otherDevice = await tokensFor(app, 'fay@example.test', 'fay password 1');
    await refresh(stolen.refreshToken);
    await refresh(stolen.refreshToken);
    t.equal((await refresh(otherDevice.refreshToken)).statusCode, 200);
  });

  t.test('two concurrent uses of one token: exactly one wins, and the family is revoked', async (t) => {
    const pair = await tokensFor(app, 'fay@example.test', 'fay password 1');
    const results = await Promise.all([refresh(pair.refreshToken), refresh(pair.refreshToken)]);
    const statuses = results.map((response) => response.statusCode).sort();
    t.same(statuses, [200, 401]);
    const winner = results.find((response) => response.statusCode === 200)!.json();
    t.equal((await refresh(winner.refreshToken)).statusCode, 401, "the winner's successor was revoked with the family");
  });

  t.test('unknown, malformed and access tokens are refused alike', async (t) => {
    const pair = await tokensFor(app, 'fay@example.test', 'fay password 1');
    for (const token of ['rt_unknown', pair.accessToken]) {
      const response = await refresh(token);
      t.equal(response.statusCode, 401);
      t.equal(problemOf(response).code, 'AUTH_INVALID_REFRESH_TOKEN');
    }
    const missing = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: {} });
    t.equal(missing.statusCode, 400);
  });

  t.test('an expired refresh token is refused', async (t) => {
    const pair = await tokensFor(app, 'fay@example.test', 'fay password 1');
    await app.db.query(`UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL AND revoked_at IS NULL`);
    t.equal((await refresh(pair.refreshToken)).statusCode, 401);
  });

  t.test('refresh tokens are stored only as hashes', async (t) => {
    const pair = await tokensFor(app, 'fay@example.test', 'fay password 1');
    const rows: { token_hash: string }[] = await app.db.query('SELECT token_hash FROM refresh_tokens');
    t.ok(rows.length > 0);
    t.notOk(rows.some((row) => row.token_hash === pair.refreshToken || row.token_hash.includes(pair.refreshToken.slice(3))));
  });
});

t.test('logout revokes the family', async (t) => {
  const { app } = await build(t);
  await register(app, 'gus@example.test', 'gus password 1');
  const pair = await tokensFor(app, 'gus@example.test', 'gus password 1');
  const rotated = (await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: pair.refreshToken } })).json();

  const logout = await app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refreshToken: rotated.refreshToken } });
  t.equal(logout.statusCode, 204);
  t.equal(logout.body, '');
  const after = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: rotated.refreshToken } });
  t.equal(after.statusCode, 401);

  const unknown = await app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refreshToken: 'rt_never_issued' } });
  t.equal(unknown.statusCode, 204, 'logging out an unknown token reveals nothing');
  const invalid = await app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refreshToken: 'x', extra: 1 } });
  t.equal(invalid.statusCode, 400);
});
