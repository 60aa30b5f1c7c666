import t from 'tap';
import { build, login, problemOf, register } from '../helper';

// The tests speak for addresses through X-Forwarded-For, from the one proxy auth trusts here.
const BEHIND_PROXY = { TRUST_PROXY: '127.0.0.1' };
const from = (address: string) => ({ 'x-forwarded-for': address });

t.test('failures from one address cannot lock the owner out from theirs', async (t) => {
  const { app } = await build(t, { ...BEHIND_PROXY, LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS: '3', LOGIN_ACCOUNT_SLOWDOWN_AFTER: '100' });
  await register(app, 'jay@example.test', 'jay password 1');

  for (let attempt = 1; attempt <= 3; attempt += 1) {
    t.equal((await login(app, 'jay@example.test', 'wrong guess', from('203.0.113.66'))).statusCode, 401, `failure ${attempt} is a plain 401`);
  }
  const blocked = await login(app, 'jay@example.test', 'jay password 1', from('203.0.113.66'));
  t.equal(blocked.statusCode, 429, 'the guessing address is refused, even with the right password');
  t.equal(problemOf(blocked).code, 'AUTH_TOO_MANY_LOGIN_ATTEMPTS');
  const retryAfter = Number(blocked.headers['retry-after']);
  t.ok(retryAfter >= 1 && retryAfter <= 900, `Retry-After is ${retryAfter}s`);
  t.equal((await login(app, 'JAY@example.test', 'jay password 1', from('203.0.113.66'))).statusCode, 429, 'the account is matched case-insensitively');

  t.equal((await login(app, 'jay@example.test', 'jay password 1', from('198.51.100.7'))).statusCode, 200, 'the owner, from their own address, gets in');
  t.equal((await login(app, 'jay@example.test', 'jay password 1')).statusCode, 200, 'and from the proxy itself');
});

t.test('a success clears the failures of that account from that address', async (t) => {
  const { app } = await build(t, { ...BEHIND_PROXY, LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS: '3' });
  await register(app, 'lea@example.test', 'lea password 1');
  await login(app, 'lea@example.test', 'wrong', from('198.51.100.1'));
  await login(app, 'lea@example.test', 'wrong', from('198.51.100.1'));
  t.equal((await login(app, 'lea@example.test', 'lea password 1', from('198.51.100.1'))).statusCode, 200);
  await login(app, 'lea@example.test', 'wrong', from('198.51.100.1'));
  await login(app, 'lea@example.test', 'wrong', from('198.51.100.1'));
  t.equal((await login(app, 'lea@example.test', 'lea password 1', from('198.51.100.1'))).statusCode, 200, 'the earlier failures no longer count');
});

t.test('login throttling per client address', async (t) => {
  const { app } = await build(t, { ...BEHIND_PROXY, LOGIN_MAX_FAILURES_PER_ADDRESS: '4' });
  await register(app, 'max@example.test', 'max password 1');
  for (let index = 0; index < 4; index += 1) {
    t.equal((await login(app, `victim${index}@example.test`, 'guess', from('203.0.113.7'))).statusCode, 401);
  }
  const blocked = await login(app, 'max@example.test', 'max password 1', from('203.0.113.7'));
  t.equal(blocked.statusCode, 429, 'credential stuffing from one address is stopped');
  t.ok(Number(blocked.headers['retry-after']) >= 1);
  t.equal((await login(app, 'max@example.test', 'max password 1', from('198.51.100.9'))).statusCode, 200, 'other addresses are unaffected');
});

t.test('a distributed attack slows the account down, never locks it, and an unknown account is answered alike', async (t) => {
  const { app } = await build(t, {
    ...BEHIND_PROXY,
    LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS: '2',
    LOGIN_ACCOUNT_SLOWDOWN_AFTER: '3',
    LOGIN_ACCOUNT_MAX_DELAY_MS: '600',
  });
  await register(app, 'kim@example.test', 'kim password 1');
  // Six failures from three addresses, two each (the most each pair may), for a real and an unknown account.
  for (const email of ['kim@example.test', 'nobody@example.test']) {
    for (let index = 0; index < 6; index += 1) {
      const response = await login(app, email, 'wrong guess', from(`203.0.113.${10 + Math.floor(index / 2)}`));
      t.equal(response.statusCode, 401, `${email} failure ${index + 1}: 401, never 429 for the account`);
    }
  }
  const timed = async (email: string, password: string, address: string) => {
    const started = performance.now();
    const response = await login(app, email, password, from(address));
    return { response, ms: performance.now() - started };
  };
  const owner = await timed('kim@example.test', 'kim password 1', '198.51.100.20');
  t.equal(owner.response.statusCode, 200, 'the owner still gets in from a fresh address');
  t.ok(owner.ms >= 550, `but only after the account's delay (${Math.round(owner.ms)} ms, max 600)`);

  const known = await timed('kim@example.test', 'another guess', '198.51.100.21');
  const unknown = await timed('nobody@example.test', 'another guess', '198.51.100.21');
  t.equal(known.response.statusCode, 401);
  t.equal(unknown.response.statusCode, 401, 'same status for an unknown account');
  const body = (response: typeof known.response) => {
    const { requestId: _requestId, instance: _instance, ...rest } = problemOf(response);
    return rest;
  };
  t.same(body(unknown.response), body(known.response), 'same body');
  // Both wait out the same delay; how much longer either takes beyond it depends on the machine's load.
  t.ok(unknown.ms >= 550 && known.ms >= 550, `same delay class (${Math.round(known.ms)} vs ${Math.round(unknown.ms)} ms)`);
});

t.test('the client address is not taken from X-Forwarded-For unless the hop is trusted', async (t) => {
  const { app } = await build(t, { LOGIN_MAX_FAILURES_PER_ADDRESS: '2' });
  for (let index = 0; index < 2; index += 1) {
    await login(app, `someone${index}@example.test`, 'guess', from(`203.0.113.${index}`));
  }
  const forged = await login(app, 'someone9@example.test', 'guess', from('198.51.100.99'));
  t.equal(forged.statusCode, 429, 'a forged X-Forwarded-For does not make a new address (TRUST_PROXY defaults to none)');
});

t.test('with Redis unreachable, logins still work and throttling falls back to memory', async (t) => {
  const { app } = await build(t, { REDIS_URL: 'redis://127.0.0.1:1', LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS: '2', LOGIN_MAX_FAILURES_PER_ADDRESS: '50' });
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
