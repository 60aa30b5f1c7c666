import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import t from 'tap';
import { createService, installRedis } from '../src/index';
import { captureLogs, eventually, problemOf, type Teardown } from './helper';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function buildWithRedis(t: Teardown, url: string, keyPrefix: string) {
  const logs = captureLogs();
  const app = await createService({ name: 'r', version: '1', description: 'r', logLevel: 'warn', trustProxy: false, logStream: logs.stream });
  const redis = installRedis(app, { url, keyPrefix });
  t.teardown(() => app.close());
  await app.ready();
  return { app, redis, logs };
}

t.test('with Redis up: app.redis works under the key prefix and /health/ready is 200', async (t) => {
  const prefix = `test_kit_redis_${randomBytes(4).toString('hex')}:`;
  const { app, redis } = await buildWithRedis(t, REDIS_URL, prefix);
  t.equal(app.redis, redis);
  await app.redis.set('greeting', 'hello', 'EX', 60);

  const plain = new Redis(REDIS_URL);
  t.teardown(async () => {
    await plain.del(`${prefix}greeting`);
    plain.disconnect();
  });
  t.equal(await plain.get(`${prefix}greeting`), 'hello', 'the key was written under the prefix');

  const ready = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready', checks: { redis: 'ok' } });
});

t.test('with Redis unreachable: readiness fails fast, commands fail fast, close does not hang', async (t) => {
  const { app, logs } = await buildWithRedis(t, 'redis://127.0.0.1:1', 'unreachable:');

  const started = Date.now();
  const ready = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(ready.statusCode, 503);
  t.match(problemOf(ready), { code: 'SERVICE_UNAVAILABLE', detail: /redis/ });
  t.ok(Date.now() - started < 5_000, 'answered promptly');

  await t.rejects(app.redis.get('anything'), 'a command fails instead of hanging');
  t.ok(logs.lines.some((line) => line.msg === 'redis connection error' && line.level === 40), 'the connection error is logged as a warning');
  t.notOk(logs.text().includes('"level":50'), 'not as an error on every retry');
});

t.test('closing the app closes the connection', async (t) => {
  const { app, redis } = await buildWithRedis(t, REDIS_URL, 'close-test:');
  await redis.ping();
  await app.close();
  t.ok(await eventually(() => redis.status === 'end'), `the client ended (${redis.status})`);
});
