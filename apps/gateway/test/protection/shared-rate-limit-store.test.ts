import { setTimeout as sleep } from 'node:timers/promises';
import { createTestRedisPrefix, eventually, TEST_REDIS_URL, type Teardown } from '@shop/testing';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import t from 'tap';
import { createSharedRateLimitStores, type RateLimitStore } from '../../src/protection/shared-rate-limit-store';
import { closedPortUrl } from '../helper';

const WINDOW_MS = 60_000;

/** Records what the store reports about Redis. */
function recordingLog() {
  const lines: string[] = [];
  const log = { warn: (_details: unknown, message: string) => lines.push(`warn: ${message}`), info: (message: string) => lines.push(`info: ${message}`) };
  return { lines, log: log as unknown as FastifyBaseLogger };
}

async function redisOnPrefix(t: Teardown, prefix?: string) {
  const keys = prefix === undefined ? createTestRedisPrefix('gateway_rate_limit') : null;
  const redis = new Redis(TEST_REDIS_URL, { keyPrefix: prefix ?? keys!.prefix });
  await redis.ping();
  t.teardown(async () => {
    await keys?.clear();
    redis.disconnect();
  });
  return { redis, prefix: prefix ?? keys!.prefix };
}

/** One gateway replica's store for one limiter group. */
function replica(t: Teardown, redis: Redis, syncMs: number, groupId = 'default') {
  const { lines, log } = recordingLog();
  const stores = createSharedRateLimitStores(redis, log, { syncMs });
  t.teardown(() => stores.close());
  const store = new stores.Store().child({ groupId });
  const incr = (key: string, windowMs = WINDOW_MS) =>
    new Promise<{ current: number; ttl: number }>((resolve, reject) => store.incr(key, (error, result) => (error ? reject(error) : resolve(result!)), windowMs, 100));
  return { store: store as RateLimitStore, stores, incr, lines };
}

const counted = async (redis: Redis, key: string) => Number((await redis.get(`rate-limit:default:${key}`)) ?? 0);

t.test('write-behind: the first request of a key asks Redis, the next ones count here until the sync', async (t) => {
  const { redis } = await redisOnPrefix(t);
  await redis.set('rate-limit:default:address:a', '5', 'PX', WINDOW_MS);
  const { incr, stores } = replica(t, redis, 60_000);

  const first = await incr('address:a');
  t.equal(first.current, 6, 'starts from the shared count (a restarted replica forgets nothing)');
  t.ok(first.ttl > 0 && first.ttl <= WINDOW_MS, 'the window Redis keeps');
  t.equal(await counted(redis, 'address:a'), 6);

  t.same([(await incr('address:a')).current, (await incr('address:a')).current], [7, 8], 'exact for its own requests');
  t.equal(await counted(redis, 'address:a'), 6, 'not sent yet');
  await stores.flush();
  t.equal(await counted(redis, 'address:a'), 8, 'sent together at the sync');
  t.equal((await incr('address:a')).current, 9);
});

t.test('replicas learn each other\'s counts at each sync', async (t) => {
  const { redis } = await redisOnPrefix(t);
  const one = replica(t, redis, 60_000);
  const two = replica(t, redis, 60_000);
  await one.incr('principal:p');
  await two.incr('principal:p');
  for (let i = 0; i < 3; i += 1) await one.incr('principal:p');
  t.equal((await two.incr('principal:p')).current, 3, 'before a sync, replica two knows only its own requests and the count it first read');
  await one.stores.flush();
  await two.stores.flush();
  t.equal(await counted(redis, 'principal:p'), 6, 'every request counted once');
  t.equal((await two.incr('principal:p')).current, 7, 'after it, the whole count');
});

t.test('the timer syncs every syncMs; a key quiet for longer asks Redis again', async (t) => {
  const { redis } = await redisOnPrefix(t);
  const one = replica(t, redis, 20);
  const two = replica(t, redis, 20);
  await one.incr('address:q');
  await one.incr('address:q');
  await eventually(async () => ((await counted(redis, 'address:q')) === 2 ? true : undefined));
  t.pass('sent without being asked');
  await two.incr('address:q');
  await sleep(60);
  t.equal((await one.incr('address:q')).current, 4, 'replica one had not heard of replica two\'s request; it asks Redis again after 2 x syncMs of quiet');
});

t.test('syncMs 0: every request is counted in Redis before it is answered', async (t) => {
  const { redis } = await redisOnPrefix(t);
  const one = replica(t, redis, 0);
  const two = replica(t, redis, 0);
  t.same([(await one.incr('address:l')).current, (await two.incr('address:l')).current, (await one.incr('address:l')).current], [1, 2, 3]);
  t.equal(await counted(redis, 'address:l'), 3);
});

t.test('a window that ends takes its unsent counts with it', async (t) => {
  const { redis } = await redisOnPrefix(t);
  const { incr, stores } = replica(t, redis, 60_000);
  await incr('address:w', 150);
  await incr('address:w', 150);
  await incr('address:w', 150);
  await sleep(200);
  t.equal((await incr('address:w', 150)).current, 1, 'a new window starts at one');
  await stores.flush();
  t.equal(await counted(redis, 'address:w'), 1, 'the old window\'s requests were not added to the new one');
});

t.test('memory is bounded: the oldest key is forgotten and asks Redis again', async (t) => {
  const { redis } = await redisOnPrefix(t);
  const { lines, log } = recordingLog();
  const stores = createSharedRateLimitStores(redis, log, { syncMs: 60_000, maxKeys: 2 });
  t.teardown(() => stores.close());
  const store = new stores.Store().child({ groupId: 'default' });
  const incr = (key: string) => new Promise<number>((resolve) => store.incr(key, (_error, result) => resolve(result!.current), WINDOW_MS, 100));
  await incr('a');
  await incr('b');
  await incr('c');
  await redis.incrby('rate-limit:default:a', 10);
  t.equal(await incr('a'), 12, 'a was forgotten, so it read the shared count again');
  t.same(lines, []);
});

t.test('Redis unreachable: counts in memory, limits still apply, and nothing waits for a connection', async (t) => {
  const redis = new Redis((await closedPortUrl()).replace('http', 'redis'), { lazyConnect: false, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  t.teardown(() => redis.disconnect());
  const { incr, lines, stores } = replica(t, redis, 50);
  const started = Date.now();
  const results = [];
  for (let i = 0; i < 3; i += 1) results.push((await incr('address:down')).current);
  t.same(results, [1, 2, 3]);
  t.ok(Date.now() - started < 500, 'answered at once');
  await stores.flush();
  t.same(lines, ['warn: rate limits are counted in memory while Redis is unavailable'], 'said once');
});

t.test('counts made while Redis was away are added once it is back', async (t) => {
  const { redis, prefix } = await redisOnPrefix(t);
  const cut = new Redis(TEST_REDIS_URL, { keyPrefix: prefix, lazyConnect: true });
  cut.on('error', () => undefined);
  t.teardown(() => cut.disconnect());
  const { incr, lines, stores } = replica(t, cut, 0, 'default');
  t.same([(await incr('address:back')).current, (await incr('address:back')).current], [1, 2], 'counted in memory before the connection is up');
  await cut.connect();
  t.equal((await incr('address:back')).current, 3, 'the next request sends what was counted meanwhile, with itself');
  await stores.flush();
  t.equal(await counted(redis, 'address:back'), 3);
  t.match(lines, ['warn: rate limits are counted in memory while Redis is unavailable', 'info: rate limits are counted in Redis again']);
});
