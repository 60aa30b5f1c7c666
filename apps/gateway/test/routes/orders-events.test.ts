import { eventually } from '@shop/testing';
import t from 'tap';
import { WebSocket } from 'ws';
import { startFakeOrdersSocket } from '../fake-services';
import { bearer, buildGateway, closedPortUrl, problemOf } from '../helper';

/** Lets `connect` tell that the upgrade reached the service. */
const GREETING = { type: 'order.updated', order: { id: 'o-1', status: 'confirmed' } };

function connect(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ socket: WebSocket; first: string }>((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('message', (data) => resolve({ socket, first: data.toString() }));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => reject(Object.assign(new Error(`refused: ${response.statusCode}`), { statusCode: response.statusCode, body, headers: response.headers })));
    });
    socket.once('error', reject);
  });
}

function nextMessage(socket: WebSocket) {
  return new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
}

type Refusal = { statusCode: number; body: string };

t.test('GET /v1/orders/events is proxied as a WebSocket', async (t) => {
  const orders = await startFakeOrdersSocket(t, { greeting: GREETING, echo: true });
  const logs: Record<string, unknown>[] = [];
  const { app, issuer } = await buildGateway(t, { orders: orders.url, logs });
  const base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws');
  const token = await issuer.tokenFor({});

  t.test('with the token in the Authorization header: messages flow both ways', async (t) => {
    const { socket, first } = await connect(`${base}/v1/orders/events`, { ...bearer(token), 'x-request-id': 'ws-request-1' });
    t.same(JSON.parse(first), GREETING);
    socket.send('hello');
    t.equal(await nextMessage(socket), 'echo:hello');
    const upstream = orders.connections.at(-1)!;
    t.equal(upstream.url, '/v1/orders/events');
    t.equal(upstream.headers.authorization, `Bearer ${token}`, 'the service verifies the token again');
    t.equal(upstream.headers['x-request-id'], 'ws-request-1');
    t.match(upstream.headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    socket.close(1000, 'done');
    await eventually(() => upstream.closed);
    t.same(upstream.closed, { code: 1000, reason: 'done' }, "the client's close reaches the service");
  });

  t.test('with the token as access_token: it travels upstream as a header, never in a URL or a log', async (t) => {
    const { socket } = await connect(`${base}/v1/orders/events?since=5&access_token=${token}`);
    const upstream = orders.connections.at(-1)!;
    t.equal(upstream.url, '/v1/orders/events?since=5');
    t.equal(upstream.headers.authorization, `Bearer ${token}`);
    socket.send('close please');
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    t.same(closed, { code: 4001, reason: 'bye' }, "the service's close reaches the client");
    await eventually(() => logs.find((line) => line.msg === 'websocket closed' && line.closedBy === 'upstream'));
    t.notMatch(JSON.stringify(logs), token.split('.')[2]!, 'the token is in no log line');
  });

  t.test('refused at the edge: no token, a bad token (a plain HTTP problem, no upgrade)', async (t) => {
    const before = orders.connections.length;
    const missing = (await connect(`${base}/v1/orders/events`).catch((error: Refusal) => error)) as Refusal;
    t.equal(missing.statusCode, 401);
    t.equal(JSON.parse(missing.body).code, 'AUTH_TOKEN_MISSING');
    const bad = (await connect(`${base}/v1/orders/events?access_token=not.a.token`).catch((error: Refusal) => error)) as Refusal;
    t.equal(bad.statusCode, 401);
    t.equal(JSON.parse(bad.body).code, 'AUTH_TOKEN_INVALID');
    t.equal(orders.connections.length, before, 'the service never saw them');
  });

  t.test("the service's own refusal passes through", async (t) => {
    const refused = (await connect(`${base}/v1/orders/events?forbidden=1`, bearer(token)).catch((error: Refusal) => error)) as Refusal;
    t.equal(refused.statusCode, 403);
    t.same(JSON.parse(refused.body), { code: 'AUTH_SCOPE_REQUIRED', status: 403 });
  });

  t.test('a plain GET is told to upgrade', async (t) => {
    const response = await app.inject({ method: 'GET', url: '/v1/orders/events', headers: bearer(token) });
    t.equal(response.statusCode, 426);
    t.equal(response.headers.upgrade, 'websocket');
    t.equal(problemOf(response).code, 'GATEWAY_UPGRADE_REQUIRED');
  });
});

t.test('the orders service is down: a prompt 503 instead of an upgrade', async (t) => {
  const { app, issuer } = await buildGateway(t, { orders: await closedPortUrl() });
  const base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws');
  const refused = (await connect(`${base}/v1/orders/events`, bearer(await issuer.tokenFor({}))).catch((error: Refusal) => error)) as Refusal;
  t.equal(refused.statusCode, 503);
  t.equal(JSON.parse(refused.body).code, 'GATEWAY_UPSTREAM_UNAVAILABLE');
});

t.test('open WebSockets are capped per user and per client address', async (t) => {
  const orders = await startFakeOrdersSocket(t, { greeting: GREETING, echo: true });
  const { app, issuer } = await buildGateway(t, { orders: orders.url, env: { WS_MAX_PER_USER: '2', WS_MAX_PER_ADDRESS: '3' } });
  const base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws');
  const url = `${base}/v1/orders/events`;
  const ann = await issuer.tokenFor({});
  const bob = await issuer.tokenFor({});

  const first = await connect(url, bearer(ann));
  const second = await connect(url, bearer(ann));
  t.teardown(() => [first, second].forEach(({ socket }) => socket.terminate()));
  const third = (await connect(url, bearer(ann)).catch((error: Refusal & { headers: Record<string, string> }) => error)) as Refusal & { headers: Record<string, string> };
  t.equal(third.statusCode, 429, 'the third socket of one user is refused before the upgrade');
  t.equal(JSON.parse(third.body).code, 'GATEWAY_TOO_MANY_SOCKETS');
  t.match(JSON.parse(third.body).detail, /at most 2 open WebSockets per user/);
  t.equal(third.headers['retry-after'], '1');

  const bobs = await connect(url, bearer(bob));
  t.teardown(() => bobs.socket.terminate());
  const fourthFromAddress = (await connect(url, bearer(await issuer.tokenFor({}))).catch((error: Refusal) => error)) as Refusal;
  t.equal(fourthFromAddress.statusCode, 429, 'the address cap holds across users');
  t.match(JSON.parse(fourthFromAddress.body).detail, /at most 3 open WebSockets per client address/);

  first.socket.close(1000, 'done');
  const again = await eventually(() => connect(url, bearer(ann)).then((connection) => connection, () => undefined));
  t.teardown(() => again.socket.terminate());
  t.pass('a closed socket gives its place back');
});

t.test('socket caps hold across gateway replicas', async (t) => {
  const orders = await startFakeOrdersSocket(t, { greeting: GREETING, echo: true });
  const first = await buildGateway(t, { orders: orders.url, env: { WS_MAX_PER_USER: '1' } });
  const { app: second } = await buildGateway(t, { orders: orders.url, issuer: first.issuer, env: { WS_MAX_PER_USER: '1', REDIS_KEY_PREFIX: first.redisPrefix } });
  const token = await first.issuer.tokenFor({});
  const one = await connect(`${(await first.app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws')}/v1/orders/events`, bearer(token));
  t.teardown(() => one.socket.terminate());
  const other = (await connect(`${(await second.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws')}/v1/orders/events`, bearer(token)).catch((error: Refusal) => error)) as Refusal;
  t.equal(other.statusCode, 429, 'the second replica sees the first one’s socket');
});
