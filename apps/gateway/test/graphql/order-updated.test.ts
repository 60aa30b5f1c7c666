import { randomUUID } from 'node:crypto';
import { eventually } from '@shop/testing';
import t from 'tap';
import { WebSocket } from 'ws';
import { startFakeOrdersSocket } from '../fake-services';
import { buildGateway } from '../helper';
import { orderWith } from './graphql-fakes';

/** A graphql-transport-ws client: every message it receives, and how it was closed. */
function client(url: string) {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const messages: { type: string; id?: string; payload?: unknown }[] = [];
  const state: { closed?: { code: number; reason: string } } = {};
  socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as (typeof messages)[number]));
  socket.on('close', (code, reason) => (state.closed = { code, reason: reason.toString() }));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    messages,
    state,
    send: async (message: unknown) => {
      await opened;
      socket.send(JSON.stringify(message));
    },
    closed: () => eventually(() => state.closed),
    message: (type: string) => eventually(() => messages.find((message) => message.type === type)),
  };
}

const SUBSCRIBE = { id: '1', type: 'subscribe', payload: { query: 'subscription { orderUpdated { id userId status } }' } };

t.test('orderUpdated over graphql-transport-ws', async (t) => {
  const orders = await startFakeOrdersSocket(t);
  const { app, issuer } = await buildGateway(t, { orders: orders.url, env: { WS_MAX_PER_USER: '2' } });
  const url = `${(await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws')}/graphql`;
  const userId = randomUUID();
  const token = await issuer.tokenFor({ userId });

  t.test("the caller's updates arrive; the token in connection_init reaches orders", async (t) => {
    const subscriber = client(url);
    await subscriber.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    await subscriber.send(SUBSCRIBE);
    await subscriber.message('connection_ack');
    const upstream = await eventually(() => orders.connections.find((connection) => connection.closed === undefined && connection.headers.authorization === `Bearer ${token}`));
    const order = orderWith(userId, []);
    upstream.socket.send(JSON.stringify({ type: 'order.updated', order }));
    const next = await subscriber.message('next');
    t.same(next, { id: '1', type: 'next', payload: { data: { orderUpdated: { id: order.id, userId, status: 'confirmed' } } } });

    // Orders closes its end when the token's authority ends: the client's socket closes with the same code.
    upstream.socket.close(4001, 'token expired');
    t.equal((await subscriber.closed()).code, 4001);
  });

  t.test('without a token, or with a bad one, the connection is refused', async (t) => {
    const anonymous = client(url);
    await anonymous.send({ type: 'connection_init', payload: {} });
    t.same(await anonymous.closed(), { code: 4401, reason: 'AUTH_TOKEN_MISSING' });
    t.notOk(anonymous.messages.some((message) => message.type === 'connection_ack'));

    const forged = client(url);
    await forged.send({ type: 'connection_init', payload: { authorization: 'Bearer forged' } });
    t.same(await forged.closed(), { code: 4401, reason: 'AUTH_TOKEN_INVALID' });

    const silent = client(url);
    await silent.send({ id: '1', type: 'subscribe', payload: { query: 'subscription { orderUpdated { id } }' } });
    t.equal((await silent.closed()).code, 4401, 'subscribing before connection_init is refused');
  });

  t.test('the per-user socket cap of the REST WebSocket holds', async (t) => {
    const capped = randomUUID();
    const cappedToken = await issuer.tokenFor({ userId: capped });
    const open = [client(url), client(url)];
    for (const connection of open) {
      await connection.send({ type: 'connection_init', payload: { authorization: `Bearer ${cappedToken}` } });
      await connection.message('connection_ack');
    }
    const third = client(url);
    await third.send({ type: 'connection_init', payload: { authorization: `Bearer ${cappedToken}` } });
    t.same(await third.closed(), { code: 4429, reason: 'GATEWAY_TOO_MANY_SOCKETS' });

    open[0]!.socket.close();
    await open[0]!.closed();
    const again = await eventually(async () => {
      const attempt = client(url);
      await attempt.send({ type: 'connection_init', payload: { authorization: `Bearer ${cappedToken}` } });
      const outcome = await eventually(() => attempt.state.closed ?? attempt.messages.find((message) => message.type === 'connection_ack'));
      return 'type' in outcome ? attempt : undefined;
    });
    t.ok(again, 'a place is free again once a socket closes');
    open[1]!.socket.close();
    again.socket.close();
  });

  t.test('a query too deep for the limits is refused on the socket too', async (t) => {
    const subscriber = client(url);
    await subscriber.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    await subscriber.message('connection_ack');
    await subscriber.send({ id: '9', type: 'subscribe', payload: { query: 'subscription { orderUpdated { items { product { recommendations { product { recommendations { product { recommendations { product { category { name } } } } } } } } } } }' } });
    const error = await subscriber.message('error');
    t.match(error, { id: '9', payload: [{ message: /deeper than 10/, extensions: { code: 'GRAPHQL_QUERY_TOO_COMPLEX', status: 400 } }] });
    subscriber.socket.close();
  });
});
