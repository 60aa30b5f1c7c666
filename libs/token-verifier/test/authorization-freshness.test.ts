import { randomUUID } from 'node:crypto';
import { AppError } from '@shop/service-kit';
import { createTestRedisPrefix, startPrivateRedis, TEST_REDIS_URL, waitFor } from '@shop/testing';
import { createLocalJWKSet } from 'jose';
import { Redis } from 'ioredis';
import t from 'tap';
import {
  AuthorizationFreshness,
  authorizationKeys,
  publishGrantRevoked,
  publishUserAuthorization,
  type Principal,
} from '../src/index';
import { bearer, buildVerifyingApp, generateSigningKey, signToken, type Teardown } from './helper';

function principalOf(overrides: Partial<Principal> = {}): Principal {
  const userId = overrides.userId ?? randomUUID();
  return {
    userId,
    role: 'customer',
    scopes: [],
    tokenId: randomUUID(),
    kind: 'user',
    ownerId: userId,
    grantId: randomUUID(),
    authzVersion: 0,
    expiresAtMs: Date.now() + 60_000,
    ...overrides,
  };
}

function redisFor(t: Teardown, url = TEST_REDIS_URL): Redis {
  const prefix = createTestRedisPrefix('freshness');
  const redis = new Redis(url, { keyPrefix: prefix.prefix, maxRetriesPerRequest: 1, commandTimeout: 1_000, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  t.teardown(async () => {
    await prefix.clear();
    redis.disconnect();
  });
  return redis;
}

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    return error instanceof AppError ? error.code : String(error);
  }
}

t.test('a change takes effect once the cached answer is older than cacheMs, never later', async (t) => {
  const redis = redisFor(t);
  await redis.ping();
  const freshness = new AuthorizationFreshness(redis, { cacheMs: 300 });
  const admin = principalOf({ role: 'admin', scopes: ['users:admin'], authzVersion: 2 });

  t.same(await freshness.check(admin), { state: 'current' }, 'no record: nothing changed lately');
  await publishUserAuthorization(redis, admin.ownerId, { version: 3, disabled: false }, 60);
  t.same(await freshness.check(admin), { state: 'current' }, 'within cacheMs the cached answer holds');
  // Once the cached answer is older than cacheMs, the very next check must see the change: no
  // polling, so a slow machine cannot blur "at cacheMs" into "eventually".
  await new Promise((resolve) => setTimeout(resolve, 350));
  t.same(await freshness.check(admin), { state: 'revoked', reason: 'rights-changed' }, 'the first check after cacheMs sees the demotion');
  t.equal(await codeOf(freshness.authorize(admin)), 'AUTH_TOKEN_REVOKED');
  t.same(await freshness.check({ ...admin, authzVersion: 3 }), { state: 'current' }, 'a token minted at the new version is current');
});

t.test('disabled users, revoked grants, and keys of a disabled creator', async (t) => {
  const redis = redisFor(t);
  const freshness = new AuthorizationFreshness(redis, { cacheMs: 0 });
  const user = principalOf({ authzVersion: 5 });
  const key = principalOf({ kind: 'api-key', role: 'service', userId: randomUUID(), ownerId: user.ownerId, authzVersion: 5, scopes: ['catalog:write'] });

  await publishUserAuthorization(redis, user.ownerId, { version: 6, disabled: true }, 60);
  t.same(await freshness.check(user), { state: 'revoked', reason: 'disabled' });
  t.same(await freshness.check({ ...user, authzVersion: 6 }), { state: 'revoked', reason: 'disabled' }, 'even at the current version');
  t.equal(await codeOf(freshness.authorize(user)), 'AUTH_ACCOUNT_DISABLED');
  t.equal(await codeOf(freshness.authorize(key)), 'AUTH_TOKEN_REVOKED', "a key's token dies with its creator");

  const other = principalOf();
  t.equal(await codeOf(freshness.authorize(other)), null);
  await publishGrantRevoked(redis, other.grantId!, 60);
  t.same(await freshness.check(other), { state: 'revoked', reason: 'grant-revoked' });
  t.same(await freshness.check({ ...other, grantId: randomUUID() }), { state: 'current' }, "the user's other sessions live on");
});

t.test('publishing never rolls a user back to an older version', async (t) => {
  const redis = redisFor(t);
  const userId = randomUUID();
  await publishUserAuthorization(redis, userId, { version: 4, disabled: true }, 60);
  await publishUserAuthorization(redis, userId, { version: 3, disabled: false }, 60);
  t.equal(await redis.get(authorizationKeys.user(userId)), '4:disabled');
  await publishUserAuthorization(redis, userId, { version: 5, disabled: false }, 60);
  t.equal(await redis.get(authorizationKeys.user(userId)), '5');
  t.ok((await redis.ttl(authorizationKeys.user(userId))) > 50, 'records expire');
});

t.test('concurrent checks of one user share one round trip', async (t) => {
  const redis = redisFor(t);
  await redis.ping();
  let calls = 0;
  const mget = redis.mget.bind(redis);
  redis.mget = ((...args: Parameters<typeof mget>) => {
    calls += 1;
    return mget(...args);
  }) as typeof redis.mget;
  const freshness = new AuthorizationFreshness(redis, { cacheMs: 1_000 });
  const user = principalOf();
  await Promise.all(Array.from({ length: 20 }, () => freshness.check(user)));
  await freshness.check(user);
  t.equal(calls, 1);
});

t.test('Redis unreachable: privileged tokens are refused with 503, customers go on, known revocations stay', async (t) => {
  const server = await startPrivateRedis(t);
  const redis = redisFor(t, server.url);
  await redis.ping();
  const freshness = new AuthorizationFreshness(redis, { cacheMs: 0 });
  const admin = principalOf({ role: 'admin', scopes: ['users:admin', 'catalog:write'] });
  const customer = principalOf();
  const signedOut = principalOf();
  await publishGrantRevoked(redis, signedOut.grantId!, 60);
  t.equal((await freshness.check(signedOut)).state, 'revoked');

  await server.stop();
  await waitFor('the client to notice', () => redis.status !== 'ready');
  const started = Date.now();
  t.same(await freshness.check(admin), { state: 'unknown' });
  t.ok(Date.now() - started < 500, 'answers at once instead of waiting for Redis (its commands time out after 1 s)');
  const refused = await freshness.authorize(admin).then(() => null, (error: unknown) => error);
  t.ok(refused instanceof AppError);
  t.equal((refused as AppError).code, 'AUTH_FRESHNESS_UNAVAILABLE');
  t.equal((refused as AppError).statusCode, 503);
  t.equal((refused as AppError).options.headers?.['retry-after'], '1');
  t.equal(await codeOf(freshness.authorize(customer)), null, 'a token without scopes reaches only its holder’s own resources');
  t.equal(await codeOf(freshness.authorize(signedOut)), 'AUTH_TOKEN_REVOKED', 'a revocation already seen is not forgotten');

  await server.start();
  await waitFor('the client to reconnect', () => redis.status === 'ready');
  t.equal(await codeOf(freshness.authorize(admin)), null, 'back to normal once Redis answers');
});

t.test('the plugin refuses revoked tokens before any handler runs', async (t) => {
  const redis = redisFor(t);
  const key = await generateSigningKey();
  const freshness = new AuthorizationFreshness(redis, { cacheMs: 0 });
  const { app } = await buildVerifyingApp(t, createLocalJWKSet({ keys: [key.jwk] }), { freshness });
  const userId = randomUUID();
  const sid = randomUUID();
  const token = await signToken(key, { claims: { sub: userId, role: 'admin', scope: 'catalog:write', sid, ver: 1 } });

  t.equal((await app.inject({ method: 'POST', url: '/products', headers: bearer(token), payload: { name: 'lamp' } })).statusCode, 201);
  await publishUserAuthorization(redis, userId, { version: 2, disabled: false }, 60);
  const refused = await app.inject({ method: 'POST', url: '/products', headers: bearer(token), payload: { name: 'lamp' } });
  t.equal(refused.statusCode, 401);
  t.equal(refused.json().code, 'AUTH_TOKEN_REVOKED');
  t.match(refused.headers['www-authenticate'], /error="invalid_token"/);
  const onPublic = await app.inject({ method: 'GET', url: '/public', headers: bearer(token) });
  t.equal(onPublic.statusCode, 401, 'even on a public route: the client should know its token is dead');
});
