import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, TEST_REDIS_URL, type Teardown } from '@shop/testing';
import { Redis } from 'ioredis';
import t from 'tap';
import { bearer, buildGateway, closedPortUrl, problemOf, startFakeUpstream } from '../helper';

const LIMITS = { RATE_LIMIT_ANONYMOUS_MAX: '3', RATE_LIMIT_MAX: '5', RATE_LIMIT_LOGIN_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' };

async function upstreams(t: Teardown) {
  const catalog = await startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products', async () => ({ items: [], nextCursor: null }));
  });
  const auth = await startFakeUpstream(t, 'auth', (app) => {
    app.post('/v1/auth/login', async (_request, reply) => reply.code(401).send({ code: 'AUTH_INVALID_CREDENTIALS' }));
    app.post('/v1/auth/register', async (_request, reply) => reply.code(201).send({}));
  });
  return { catalog, auth };
}

t.test('limits per address and per principal, with the RateLimit headers', async (t) => {
  const { catalog, auth } = await upstreams(t);
  const { app, issuer } = await buildGateway(t, { catalog: catalog.url, auth: auth.url, env: LIMITS });
  const get = (headers: Record<string, string> = {}, remoteAddress = '198.51.100.1') => app.inject({ method: 'GET', url: '/v1/products', headers, remoteAddress });

  t.test('anonymous: per address', async (t) => {
    for (let remaining = 2; remaining >= 0; remaining -= 1) {
      const response = await get();
      t.equal(response.statusCode, 200);
      t.equal(response.headers['ratelimit-limit'], '3');
      t.equal(response.headers['ratelimit-remaining'], String(remaining));
      t.ok(Number(response.headers['ratelimit-reset']) > 0 && Number(response.headers['ratelimit-reset']) <= 60);
    }
    const before = catalog.seen.length;
    const limited = await get();
    t.equal(limited.statusCode, 429);
    t.equal(limited.headers['content-type'], 'application/problem+json');
    t.match(problemOf(limited), { code: 'RATE_LIMITED', status: 429 });
    t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
    t.equal(limited.headers['ratelimit-remaining'], '0');
    t.equal(catalog.seen.length, before, 'the service was spared');

    t.equal((await get({}, '198.51.100.2')).statusCode, 200, 'another address has its own budget');
  });

  t.test('signed in: per principal, with its own (higher) limit', async (t) => {
    const alice = await issuer.tokenFor({});
    const bob = await issuer.tokenFor({});
    const first = await get(bearer(alice));
    t.equal(first.statusCode, 200, 'not limited by the exhausted address');
    t.equal(first.headers['ratelimit-limit'], '5');
    for (let i = 0; i < 4; i += 1) t.equal((await get(bearer(alice), `198.51.100.${10 + i}`)).statusCode, 200);
    t.equal((await get(bearer(alice), '198.51.100.99')).statusCode, 429, 'the principal is counted wherever it comes from');
    t.equal((await get(bearer(bob))).statusCode, 200, 'another principal is not');
  });

  t.test('login and registration share a stricter limit', async (t) => {
    const login = () => app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'a@b.test', password: 'x' }, remoteAddress: '198.51.100.50' });
    const first = await login();
    t.equal(first.statusCode, 401, "the service's own answer");
    t.equal(first.headers['ratelimit-limit'], '2');
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/register', payload: {}, remoteAddress: '198.51.100.50' })).statusCode, 201);
    const limited = await login();
    t.equal(limited.statusCode, 429);
    t.match(problemOf(limited), { code: 'RATE_LIMITED' });
    t.equal((await get({}, '198.51.100.50')).statusCode, 200, 'other routes still have their budget');
  });

  t.test('bad credentials are counted against the address before they are refused', async (t) => {
    const responses = [];
    for (let i = 0; i < 4; i += 1) responses.push(await get(bearer('bad.token.here'), '198.51.100.60'));
    t.same(responses.map((response) => response.statusCode), [401, 401, 401, 429]);
  });
});

t.test('counts are shared through Redis by every gateway replica', async (t) => {
  const { catalog, auth } = await upstreams(t);
  const env = { ...LIMITS, RATE_LIMIT_SYNC_MS: '20' };
  const first = await buildGateway(t, { catalog: catalog.url, auth: auth.url, env });
  const second = await buildGateway(t, { catalog: catalog.url, auth: auth.url, env: { ...env, REDIS_KEY_PREFIX: first.redisPrefix } });
  const redis = new Redis(TEST_REDIS_URL, { keyPrefix: first.redisPrefix });
  t.teardown(() => redis.quit());

  t.test('the general limit: each replica learns the others\' counts within 2 x RATE_LIMIT_SYNC_MS', async (t) => {
    const get = (app: typeof first.app) => app.inject({ method: 'GET', url: '/v1/products', remoteAddress: '198.51.100.7' });
    const statuses = [];
    let sent = 0;
    for (const app of [first.app, second.app, first.app, second.app]) {
      statuses.push((await get(app)).statusCode);
      sent += 1;
      // Both replicas have added what they counted, and a replica quiet on the key for
      // 2 x RATE_LIMIT_SYNC_MS reads the shared count again on its next request.
      await eventually(async () => (Number(await redis.get('rate-limit:default:address:198.51.100.7')) === sent ? true : undefined));
      await sleep(60);
    }
    t.same(statuses, [200, 200, 200, 429]);
  });

  t.test('login: counted in Redis on every request, so replicas agree at once', async (t) => {
    const login = (app: typeof first.app) =>
      app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'a@b.test', password: 'x' }, remoteAddress: '198.51.100.70' });
    const statuses = [];
    for (const app of [first.app, second.app, first.app]) statuses.push((await login(app)).statusCode);
    t.same(statuses, [401, 401, 429]);
  });
});

t.test('Redis down: fail open to per-instance limits in memory', async (t) => {
  const { catalog } = await upstreams(t);

  t.test('unreachable from the start: requests are served promptly, and still limited', async (t) => {
    const { app } = await buildGateway(t, { catalog: catalog.url, env: { ...LIMITS, REDIS_URL: (await closedPortUrl()).replace('http', 'redis') } });
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await app.inject({ method: 'GET', url: '/v1/products', remoteAddress: '198.51.100.8' })).statusCode);
    t.same(statuses, [200, 200, 200, 429]);
    // Auth and orders are not running in this test, so readiness fails, but for them alone: limits
    // counted in memory are no reason to take the gateway out of rotation.
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    t.equal(ready.statusCode, 503);
    t.match(problemOf(ready).detail, /auth/);
    t.notMatch(problemOf(ready).detail, /redis/, 'Redis is reported, not required');
  });

  t.test('lost and found again: counting moves to memory and back to Redis', async (t) => {
    const proxy = await startTcpProxy(t, new URL(TEST_REDIS_URL));
    const { app, redisPrefix } = await buildGateway(t, { catalog: catalog.url, env: { ...LIMITS, RATE_LIMIT_ANONYMOUS_MAX: '1000', REDIS_URL: `redis://127.0.0.1:${proxy.port}` } });
    await eventually(() => (app.redis.status === 'ready' ? true : undefined));
    const redis = new Redis(TEST_REDIS_URL);
    t.teardown(() => redis.quit());
    const get = (remoteAddress: string) => app.inject({ method: 'GET', url: '/v1/products', remoteAddress });
    const counted = (address: string) => redis.get(`${redisPrefix}rate-limit:default:address:${address}`);

    t.equal((await get('198.51.100.20')).statusCode, 200);
    t.equal(await counted('198.51.100.20'), '1', 'counted in Redis');

    await proxy.stop();
    const started = Date.now();
    const during = await get('198.51.100.21');
    t.equal(during.statusCode, 200, 'served while Redis is away');
    t.ok(Date.now() - started < 1_000, 'without waiting for Redis');
    t.equal(during.headers['ratelimit-remaining'], '999', 'counted in memory');
    t.equal(await counted('198.51.100.21'), null, 'not in Redis');

    await proxy.start();
    await eventually(async () => {
      await get('198.51.100.22');
      return (await counted('198.51.100.22')) === null ? undefined : true;
    });
    t.pass('counting is back in Redis once it reconnects');
  });
});

/** A TCP relay to Redis that the test can cut and restore, on the same port. */
async function startTcpProxy(t: Teardown, target: URL) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const start = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 6379), target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => socket.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (server === null) return resolve();
      server.close(() => resolve());
      server = null;
    });
  await start();
  t.teardown(stop);
  return { get port() { return port; }, start, stop };
}
