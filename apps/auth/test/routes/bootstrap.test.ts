import { Writable } from 'node:stream';
import { loadConfig } from '@shop/service-kit';
import t from 'tap';
import { AuthConfigSchema } from '../../src/config';
import { ADMIN, build, login, tokensFor } from '../helper';

function logCollector() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, stream };
}

t.test('the bootstrap admin is created once; a restart changes nothing', async (t) => {
  const logs = logCollector();
  const { app, env } = await build(t, { LOG_LEVEL: 'info' }, { logStream: logs.stream });
  t.ok(logs.lines.some((line) => line.outcome === 'created'));
  t.ok(
    logs.lines.some((line) => line.level === 40 && /DEV ONLY/.test(String(line.msg))),
    'a generated dev signing key is announced loudly',
  );
  t.equal((await login(app, ADMIN.email, ADMIN.password)).statusCode, 200);

  const { buildApp } = await import('../../src/app');
  const restartLogs = logCollector();
  const config = loadConfig(AuthConfigSchema, { ...env, LOG_LEVEL: 'info', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: 'a different password now' });
  const restarted = await buildApp(config, { logStream: restartLogs.stream });
  t.teardown(() => restarted.close());
  t.ok(restartLogs.lines.some((line) => line.outcome === 'unchanged'));
  const admins = await restarted.db.query(`SELECT count(*)::int AS n FROM users WHERE role = 'admin'`);
  t.equal(admins[0].n, 1);
  t.equal((await login(restarted, ADMIN.email, ADMIN.password)).statusCode, 200, 'an existing password is never overwritten');
});

t.test('an existing customer named as admin is promoted', async (t) => {
  const { app, env } = await build(t, { ADMIN_EMAIL: 'boss@example.test', ADMIN_PASSWORD: 'boss password 12' });
  const { buildApp } = await import('../../src/app');
  await app.db.query(`UPDATE users SET role = 'customer' WHERE email = 'boss@example.test'`);
  const config = loadConfig(AuthConfigSchema, { ...env, ADMIN_EMAIL: 'boss@example.test', ADMIN_PASSWORD: 'boss password 12' });
  const restarted = await buildApp(config);
  t.teardown(() => restarted.close());
  const tokens = await tokensFor(restarted, 'boss@example.test', 'boss password 12');
  const me = await restarted.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${tokens.accessToken}` } });
  t.equal(me.json().role, 'admin');
});

t.test('passwords are rehashed on login when the parameters change', async (t) => {
  const { app, env } = await build(t);
  const before = (await app.db.query(`SELECT password_hash FROM users WHERE email = $1`, [ADMIN.email]))[0].password_hash;
  t.match(before, /t=2/);
  const { buildApp } = await import('../../src/app');
  const stronger = await buildApp(loadConfig(AuthConfigSchema, { ...env, ARGON2_TIME_COST: '3' }));
  t.teardown(() => stronger.close());
  t.equal((await login(stronger, ADMIN.email, ADMIN.password)).statusCode, 200);
  const after = (await stronger.db.query(`SELECT password_hash FROM users WHERE email = $1`, [ADMIN.email]))[0].password_hash;
  t.match(after, /m=19456,t=3,p=1/);
  t.equal((await login(stronger, ADMIN.email, ADMIN.password)).statusCode, 200, 'the new hash verifies');
});

t.test('config errors name each bad variable', async (t) => {
  t.throws(() => loadConfig(AuthConfigSchema, {}), { name: 'ConfigError', message: /DATABASE_URL is required/ });
  const error = (() => {
    try {
      loadConfig(AuthConfigSchema, { DATABASE_URL: 'mysql://x', ARGON2_MEMORY_KIB: '1024', ACCESS_TOKEN_TTL_SECONDS: '3600', PORT: 'eighty' });
    } catch (caught) {
      return caught as Error;
    }
  })();
  t.ok(error);
  for (const variable of ['DATABASE_URL', 'ARGON2_MEMORY_KIB', 'ACCESS_TOKEN_TTL_SECONDS', 'PORT']) t.match(error!.message, variable);
  const onlyEmail = { ADMIN_EMAIL: 'only@example.test', ADMIN_PASSWORD: undefined as unknown as string };
  await t.rejects(build(t, onlyEmail), { name: 'ConfigError', message: /ADMIN_EMAIL and ADMIN_PASSWORD/ });
});
