import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { probeUntil } from '@shop/testing';
import t from 'tap';
import WebSocket from 'ws';
import { bearer, build, fakeCatalog } from '../helper';

interface Message {
  type: string;
  order: { id: string; status: string; userId: string };
}

function connect(url: string, headers: Record<string, string> = {}): Promise<{ socket: WebSocket; messages: Message[] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const messages: Message[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as Message));
    socket.once('open', () => resolve({ socket, messages }));
    socket.once('unexpected-response', (_request, response) => reject(Object.assign(new Error('refused'), { statusCode: response.statusCode })));
    socket.once('error', reject);
  });
}

t.test('order updates over the WebSocket', async (t) => {
  const { app, env, tokens } = await build(t, { WS_HEARTBEAT_MS: '1000' });
  const catalog = await fakeCatalog(t, env.REDIS_KEY_PREFIX);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/orders/events`;
  const owner = randomUUID();
  const ownerToken = await tokens.tokenFor({ userId: owner });
  const strangerToken = await tokens.tokenFor({});

  const viaHeader = await connect(base, bearer(ownerToken));
  const viaQuery = await connect(`${base}?access_token=${ownerToken}`);
  const stranger = await connect(base, bearer(strangerToken));
  t.teardown(() => [viaHeader, viaQuery, stranger].forEach(({ socket }) => socket.terminate()));

  const productId = randomUUID();
  const placed = await app.inject({ method: 'POST', url: '/v1/orders', payload: { items: [{ productId, quantity: 1 }] }, headers: bearer(ownerToken) });
  const orderId = placed.json().id as string;
  await catalog.reserved({ orderId, currency: 'USD', items: [{ productId, sku: 'S', name: 'N', quantity: 1, unitPriceCents: 5 }] });

  t.ok(await probeUntil(() => viaHeader.messages.some((message) => message.order.status === 'confirmed')), 'the owner hears the confirmation');
  t.match(viaHeader.messages[0], { type: 'order.updated', order: { id: orderId, status: 'pending', userId: owner } });
  t.ok(await probeUntil(() => viaQuery.messages.some((message) => message.order.status === 'confirmed')), 'a token in the query string works too');
  t.same(stranger.messages, [], 'another user receives nothing');

  // Two heartbeats pass (1 s each: shorter ones would let a stalled test process miss its own pong).
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  t.equal(viaHeader.socket.readyState, WebSocket.OPEN, 'heartbeats keep an answering client connected');

  for (const [label, headers, url] of [
    ['no token', {}, base],
    ['a bad token', bearer('not.a.token'), base],
    ['a bad query token', {}, `${base}?access_token=garbage`],
  ] as const) {
    const refused = await connect(url, headers).then(
      () => null,
      (error: { statusCode?: number }) => error.statusCode,
    );
    t.equal(refused, 401, `${label} is refused`);
  }
});
