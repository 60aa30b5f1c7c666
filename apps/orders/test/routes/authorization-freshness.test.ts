import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SocketCloseCodes } from '@shop/contracts';
import { startPrivateRedis, waitFor } from '@shop/testing';
import { publishGrantRevoked, publishUserAuthorization } from '@shop/token-verifier';
import t from 'tap';
import WebSocket from 'ws';
import { bearer, build, problemOf } from '../helper';

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => reject(Object.assign(new Error('refused'), { statusCode: response.statusCode })));
    socket.once('error', reject);
  });
}

function closed(socket: WebSocket): Promise<{ code: number; reason: string; afterMs: number }> {
  const started = Date.now();
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString(), afterMs: Date.now() - started })));
}

t.test('open WebSockets close when their token expires or their owner’s rights change', async (t) => {
  const { app, tokens } = await build(t, { WS_FRESHNESS_SWEEP_MS: '200' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/orders/events`;
  const ttl = (seconds: number) => tokens.tokenFor({ ttlSeconds: seconds });

  t.test('expiry: 4001', async (t) => {
    const socket = await open(url, bearer(await ttl(2)));
    t.teardown(() => socket.terminate());
    const { code, reason } = await closed(socket);
    t.equal(code, SocketCloseCodes.TOKEN_EXPIRED_OR_REVOKED);
    t.equal(reason, 'token expired');
  });

  t.test('disabled: 4003 within the bound', async (t) => {
    const userId = randomUUID();
    const socket = await open(url, bearer(await tokens.tokenFor({ userId })));
    t.teardown(() => socket.terminate());
    const closing = closed(socket);
    await publishUserAuthorization(app.redis, userId, { version: 1, disabled: true }, 60);
    const { code, reason, afterMs } = await closing;
    t.equal(code, SocketCloseCodes.FORBIDDEN);
    t.equal(reason, 'account disabled');
    t.ok(afterMs <= 5_000, `closed ${afterMs} ms after the change`);
  });

  t.test('rights changed or signed out: 4001 within the bound', async (t) => {
    const userId = randomUUID();
    const grantId = randomUUID();
    const changed = await open(url, bearer(await tokens.tokenFor({ userId, role: 'admin', authzVersion: 4 })));
    const signedOut = await open(url, bearer(await tokens.tokenFor({ grantId })));
    t.teardown(() => [changed, signedOut].forEach((socket) => socket.terminate()));
    const closings = [closed(changed), closed(signedOut)];
    await publishUserAuthorization(app.redis, userId, { version: 5, disabled: false }, 60);
    await publishGrantRevoked(app.redis, grantId, 60);
    const [demoted, loggedOut] = (await Promise.all(closings)) as [Awaited<ReturnType<typeof closed>>, Awaited<ReturnType<typeof closed>>];
    t.match(demoted, { code: 4001, reason: /rights changed/ });
    t.match(loggedOut, { code: 4001, reason: 'signed out' });
    t.ok(Math.max(demoted.afterMs, loggedOut.afterMs) <= 5_000, `closed within ${Math.max(demoted.afterMs, loggedOut.afterMs)} ms`);
  });

  t.test('a revoked token cannot open one', async (t) => {
    const grantId = randomUUID();
    await publishGrantRevoked(app.redis, grantId, 60);
    const token = await tokens.tokenFor({ grantId });
    for (const [label, attempt] of [
      ['header', () => open(url, bearer(token))],
      ['query', () => open(`${url}?access_token=${token}`)],
    ] as const) {
      const status = await attempt().then(
        (socket) => (socket.terminate(), 101),
        (error: { statusCode?: number }) => error.statusCode,
      );
      t.equal(status, 401, label);
    }
  });

  t.test('an API key has no orders of its own: no socket', async (t) => {
    const key = await tokens.tokenFor({ role: 'service', scopes: ['orders:read:all'], ownerId: randomUUID() });
    const status = await open(url, bearer(key)).then(
      (socket) => (socket.terminate(), 101),
      (error: { statusCode?: number }) => error.statusCode,
    );
    t.equal(status, 403);
  });
});

t.test('API keys act only through their scopes', async (t) => {
  const { app, tokens } = await build(t);
  const order = { items: [{ productId: randomUUID(), quantity: 1 }] };
  const noScopes = await tokens.tokenFor({ role: 'service', scopes: [], ownerId: randomUUID() });
  const reader = await tokens.tokenFor({ role: 'service', scopes: ['orders:read:all'], ownerId: randomUUID() });

  const placedByKey = await app.inject({ method: 'POST', url: '/v1/orders', payload: order, headers: bearer(noScopes) });
  t.equal(placedByKey.statusCode, 403, 'a key without scopes cannot place an order');
  t.equal(problemOf(placedByKey).code, 'AUTH_USER_REQUIRED');
  t.equal((await app.inject({ method: 'POST', url: '/v1/orders', payload: order, headers: bearer(reader) })).statusCode, 403, 'nor can any key');
  t.equal((await app.inject({ method: 'GET', url: '/v1/orders', headers: bearer(noScopes) })).statusCode, 403, 'nor list');
  t.equal((await app.inject({ method: 'GET', url: `/v1/orders/${randomUUID()}`, headers: bearer(noScopes) })).statusCode, 403, 'nor read');

  const customer = randomUUID();
  const placed = await app.inject({ method: 'POST', url: '/v1/orders', payload: order, headers: bearer(await tokens.tokenFor({ userId: customer })) });
  t.equal(placed.statusCode, 201, 'a user places orders');
  const listed = await app.inject({ method: 'GET', url: `/v1/orders?userId=${customer}`, headers: bearer(reader) });
  t.equal(listed.statusCode, 200, 'orders:read:all lets a key read everyone’s');
  t.equal(listed.json().items.length, 1);
});

t.test('REST requests follow the owner’s current rights; with Redis unreachable, privileged ones are refused', async (t) => {
  const redis = await startPrivateRedis(t);
  const { app, tokens } = await build(t, { REDIS_URL: redis.url });
  const adminId = randomUUID();
  const admin = await tokens.tokenFor({ userId: adminId, role: 'admin', authzVersion: 1 });
  const customer = await tokens.tokenFor({});
  t.equal((await app.inject({ method: 'GET', url: '/v1/orders', headers: bearer(admin) })).statusCode, 200);

  await redis.stop();
  await waitFor('orders to notice', () => app.redis.status !== 'ready');
  // The answer cached before the outage is good for its second (the bound); not beyond.
  await new Promise((resolve) => setTimeout(resolve, 1_050));
  const refused = await app.inject({ method: 'GET', url: '/v1/orders', headers: bearer(admin) });
  t.equal(refused.statusCode, 503, 'a privileged token cannot be confirmed: refused');
  t.equal(problemOf(refused).code, 'AUTH_FRESHNESS_UNAVAILABLE');
  t.equal(refused.headers['retry-after'], '1');
  t.equal((await app.inject({ method: 'GET', url: '/v1/orders', headers: bearer(customer) })).statusCode, 200, "a customer's own orders stay reachable");

  await redis.start();
  await waitFor('orders to reconnect', () => app.redis.status === 'ready', 10_000);
  t.equal((await app.inject({ method: 'GET', url: '/v1/orders', headers: bearer(admin) })).statusCode, 200);
  await publishUserAuthorization(app.redis, adminId, { version: 2, disabled: false }, 60);
  await waitFor('the demotion to apply', async () => (await app.inject({ method: 'GET', url: '/v1/orders', headers: bearer(admin) })).statusCode === 401);
  t.pass('the demoted admin’s token is refused');
});
