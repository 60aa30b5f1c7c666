import t from 'tap';
import { build, login, problemOf, register } from '../helper';

t.test('login throttling per account', async (t) => {
  const { app } = await build(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_ADDRESS: '50' });
  await register(app, 'jay@example.test', 'jay password 1');

  for (let attempt = 1; attempt <= 3; attempt += 1) {
    t.equal((await login(app, 'jay@example.test', 'wrong guess')).statusCode, 401, `failure ${attempt} is a plain 401`);
  }
  const blocked = await login(app, 'jay@example.test', 'jay password 1');
  t.equal(blocked.statusCode, 429, 'once blocked, even the right password is refused');
  t.equal(problemOf(blocked).code, 'AUTH_TOO_MANY_LOGIN_ATTEMPTS');
  const retryAfter = Number(blocked.headers['retry-after']);
  t.ok(retryAfter >= 1 && retryAfter <= 900, `Retry-After is ${retryAfter}s`);

  const otherAccount = await register(app, 'kim@example.test', 'kim password 1');
  t.ok(otherAccount);
  t.equal((await login(app, 'kim@example.test', 'kim password 1')).statusCode, 200, 'other accounts are unaffected');
  t.equal((await login(app, 'JAY@example.test', 'jay password 1')).statusCode, 429, 'the account is matched case-insensitively');
});

t.test('a success clears the account counter', async (t) => {
  const { app } = await build(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_ADDRESS: '50' });
  await register(app, 'lea@example.test', 'lea password 1');
  await login(app, 'lea@example.test', 'wrong');
  await login(app, 'lea@example.test', 'wrong');
  t.equal((await login(app, 'lea@example.test', 'lea password 1')).statusCode, 200);
  await login(app, 'lea@example.test', 'wrong');
  await login(app, 'lea@example.test', 'wrong');
  t.equal((await login(app, 'lea@example.test', 'lea password 1')).statusCode, 200, 'the earlier failures no longer count');
});

t.test('login throttling per client address', async (t) => {
  const { app } = await build(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '100', LOGIN_MAX_FAILURES_PER_ADDRESS: '4' });
  await register(app, 'max@example.test', 'max password 1');
  const from = (address: string) => ({ 'x-forwarded-for': address });
  for (let index = 0; index < 4; index += 1) {
    t.equal((await login(app, `victim${index}@example.test`, 'guess', from('203.0.113.7'))).statusCode, 401);
  }
  const blocked = await login(app, 'max@example.test', 'max password 1', from('203.0.113.7'));
  t.equal(blocked.statusCode, 429, 'credential stuffing from one address is stopped');
  t.ok(Number(blocked.headers['retry-after']) >= 1);
  t.equal((await login(app, 'max@example.test', 'max password 1', from('198.51.100.9'))).statusCode, 200, 'other addresses are unaffected');
});

t.test('with Redis unreachable, logins still work and throttling falls back to memory', async (t) => {
  const { app } = await build(t, { REDIS_URL: 'redis://127.0.0.1:1', LOGIN_MAX_FAILURES_PER_ACCOUNT: '2', LOGIN_MAX_FAILURES_PER_ADDRESS: '50' });
  await register(app, 'ned@example.test', 'ned password 1');
  t.equal((await login(app, 'ned@example.test', 'ned password 1')).statusCode, 200);
  await login(app, 'ned@example.test', 'wrong');
  await login(app, 'ned@example.test', 'wrong');
  t.equal((await login(app, 'ned@example.test', 'ned password 1')).statusCode, 429);
  // Redis is no hard dependency of auth: the instance stays in rotation and says it is degraded.
  const ready = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready', checks: { database: 'ok', redis: 'degraded' } });
});
