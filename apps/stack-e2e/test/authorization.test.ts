import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import WebSocket from 'ws';
import { startStack } from './stack';

/**
 * Who you are now, not 15 minutes ago: every kind of change (role, disable, an API key's creator)
 * takes effect through the gateway within 5 seconds, on REST and on open WebSockets; and the
 * limits that key on the client's address cannot be walked around with X-Forwarded-For.
 *
 * Clients connect from different loopback addresses (127.0.0.x, real sockets), so the gateway
 * sees different clients as it would on a network. Against a compose stack (GATEWAY_URL), Docker
 * may show every client as one address: the parts that need distinct addresses are skipped there.
 */
const BOUND_MS = 5_000;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

t.test('authorization follows changes within 5 seconds, and abuse gets nowhere', async (t) => {
  const { gatewayUrl, admin } = await startStack(t);
  const distinctAddresses = !process.env.GATEWAY_URL;
  let nextAddress = 2;
  /** A client of its own: a loopback address no other part of this test uses (own rate-limit buckets). */
  const newClientAddress = () => (distinctAddresses ? `127.0.0.${nextAddress++}` : undefined);

  const call = (method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; from?: string | undefined } = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
      const request = httpRequest(
        `${gatewayUrl}${path}`,
        {
          method,
          agent: false,
          ...(options.from ? { localAddress: options.from } : {}),
          headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text ? JSON.parse(text) : null });
          });
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  /** How long until `probe` answers `status`; fails past the bound. */
  const msUntil = async (what: string, probe: () => Promise<Reply>, status: number): Promise<number> => {
    const started = Date.now();
    for (;;) {
      const reply = await probe();
      if (reply.status === status) return Date.now() - started;
      if (Date.now() - started > BOUND_MS + 2_000) throw new Error(`${what}: still ${reply.status} after ${Date.now() - started} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const loginAs = async (email: string, password: string, from?: string) => {
    const reply = await call('POST', '/v1/auth/login', { body: { email, password }, from });
    if (reply.status !== 200) throw new Error(`login ${email}: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body as { accessToken: string; refreshToken: string };
  };
  const newUser = async (from?: string) => {
    const email = `e2e-${randomUUID()}@example.test`;
    const password = 'correct horse battery';
    const registered = await call('POST', '/v1/auth/register', { body: { email, password, name: 'E2E' }, from });
    if (registered.status !== 201) throw new Error(`register: ${registered.status} ${JSON.stringify(registered.body)}`);
    return { id: registered.body.id as string, email, password };
  };
  const openSocket = (token: string, from?: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(`${gatewayUrl.replace('http', 'ws')}/v1/orders/events`, { headers: bearer(token), ...(from ? { localAddress: from } : {}) });
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_request, response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => reject(Object.assign(new Error(`refused ${response.statusCode}`), { statusCode: response.statusCode, body: text })));
      });
      socket.once('error', reject);
    });
  const closeOf = (socket: WebSocket) => {
    const started = Date.now();
    return new Promise<{ code: number; reason: string; ms: number }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString(), ms: Date.now() - started })),
    );
  };

  const adminAddress = newClientAddress();
  const root = await loginAs(admin.email, admin.password, adminAddress);
  const patchUser = (id: string, body: unknown) => call('PATCH', `/v1/users/${id}`, { body, headers: bearer(root.accessToken), from: adminAddress });

  t.test('role: a demoted admin loses admin rights in every service within 5 s, and cannot promote themselves back', async (t) => {
    const from = newClientAddress();
    const eve = await newUser(from);
    t.equal((await patchUser(eve.id, { role: 'admin' })).status, 200);
    const eveToken = (await loginAs(eve.email, eve.password, from)).accessToken;
    const listUsers = () => call('GET', '/v1/users', { headers: bearer(eveToken), from });
    const listAllOrders = () => call('GET', '/v1/orders?limit=1', { headers: bearer(eveToken), from });
    const writeCatalog = () => call('POST', '/v1/categories', { body: { name: `e2e ${randomUUID()}`, slug: `e2e-${randomUUID()}` }, headers: bearer(eveToken), from });
    t.equal((await listUsers()).status, 200);
    t.equal((await writeCatalog()).status, 201, 'admin rights work everywhere first');

    t.equal((await patchUser(eve.id, { role: 'customer' })).status, 200);
    const selfPromotion = await call('PATCH', `/v1/users/${eve.id}`, { body: { role: 'admin' }, headers: bearer(eveToken), from });
    t.ok([401, 403].includes(selfPromotion.status), `self-promotion refused at once (${selfPromotion.status})`);
    const [auth, orders, catalog] = await Promise.all([
      msUntil('auth', listUsers, 401),
      msUntil('orders', listAllOrders, 401),
      msUntil('catalog', writeCatalog, 401),
    ]);
    t.ok(Math.max(auth, orders, catalog) <= BOUND_MS, `auth ${auth} ms, orders ${orders} ms, catalog ${catalog} ms`);
    t.equal((await listUsers()).body.code, 'AUTH_TOKEN_REVOKED');
  });

  t.test('disable: no login, no refresh, no token, and the open WebSocket closes with 4003, within 5 s', async (t) => {
    const from = newClientAddress();
    const fay = await newUser(from);
    const session = await loginAs(fay.email, fay.password, from);
    const socket = await openSocket(session.accessToken, from);
    t.teardown(() => socket.terminate());
    const closing = closeOf(socket);
    const ownOrders = () => call('GET', '/v1/orders', { headers: bearer(session.accessToken), from });
    t.equal((await ownOrders()).status, 200);

    const disabled = await patchUser(fay.id, { disabled: true });
    t.equal(disabled.status, 200);
    t.equal(disabled.body.disabled, true);
    const ms = await msUntil('orders', ownOrders, 403);
    t.ok(ms <= BOUND_MS, `REST refused after ${ms} ms`);
    t.equal((await ownOrders()).body.code, 'AUTH_ACCOUNT_DISABLED');
    const closed = await closing;
    t.equal(closed.code, 4003, 'the socket closes with 4003');
    t.ok(closed.ms <= BOUND_MS, `after ${closed.ms} ms`);
    t.equal((await call('POST', '/v1/auth/login', { body: { email: fay.email, password: fay.password }, from })).status, 403, 'no login');
    t.equal((await call('POST', '/v1/auth/refresh', { body: { refreshToken: session.refreshToken }, from })).status, 401, 'no refresh');

    t.equal((await patchUser(fay.id, { disabled: false })).status, 200);
    const again = await loginAs(fay.email, fay.password, from);
    t.equal((await call('GET', '/v1/auth/me', { headers: bearer(again.accessToken), from })).status, 200, 're-enabled, they log in again');
  });

  t.test("API key: never more than its creator may do now; dead with a disabled creator; no scopes, no orders", async (t) => {
    const from = newClientAddress();
    const hal = await newUser(from);
    await patchUser(hal.id, { role: 'admin' });
    const halToken = (await loginAs(hal.email, hal.password, from)).accessToken;
    const created = await call('POST', '/v1/auth/api-keys', { body: { name: 'e2e sync', scopes: ['catalog:write'] }, headers: bearer(halToken), from });
    t.equal(created.status, 201);
    const key = { 'x-api-key': created.body.key as string };
    const writeWithKey = () => call('POST', '/v1/categories', { body: { name: `k ${randomUUID()}`, slug: `k-${randomUUID()}` }, headers: key, from });
    t.equal((await writeWithKey()).status, 201, 'the key writes the catalog while its creator is an admin');

    await patchUser(hal.id, { role: 'customer' });
    const demotedMs = await msUntil('key after demotion', writeWithKey, 403);
    t.ok(demotedMs <= BOUND_MS, `the key lost catalog:write ${demotedMs} ms after its creator did`);

    await patchUser(hal.id, { disabled: true });
    const disabledMs = await msUntil('key after disable', () => call('GET', '/v1/products?limit=1', { headers: key, from }), 401);
    t.ok(disabledMs <= BOUND_MS, `the key stopped working ${disabledMs} ms after its creator was disabled`);

    const empty = await call('POST', '/v1/auth/api-keys', { body: { name: 'e2e empty', scopes: [] }, headers: bearer(root.accessToken), from: adminAddress });
    const product = (await call('GET', '/v1/products?limit=1&inStock=true', { from })).body.items[0];
    const placed = await call('POST', '/v1/orders', { body: { items: [{ productId: product.id, quantity: 1 }] }, headers: { 'x-api-key': empty.body.key }, from });
    t.equal(placed.status, 403, 'an API key without scopes cannot place an order');
    t.equal(placed.body.code, 'AUTH_USER_REQUIRED');
  });

  t.test('logout: the access token stops working too', async (t) => {
    const from = newClientAddress();
    const gus = await newUser(from);
    const session = await loginAs(gus.email, gus.password, from);
    t.equal((await call('POST', '/v1/auth/logout', { body: { refreshToken: session.refreshToken }, from })).status, 204);
    const ms = await msUntil('after logout', () => call('GET', '/v1/auth/me', { headers: bearer(session.accessToken), from }), 401);
    t.ok(ms <= BOUND_MS, `refused ${ms} ms after logout`);
  });

  t.test('WebSockets: at most 5 per user, a sixth is refused with a clear reason', async (t) => {
    const from = newClientAddress();
    const ida = await newUser(from);
    const token = (await loginAs(ida.email, ida.password, from)).accessToken;
    const sockets = await Promise.all(Array.from({ length: 5 }, () => openSocket(token, from)));
    t.teardown(() => sockets.forEach((socket) => socket.terminate()));
    const sixth = (await openSocket(token, from).then(
      (socket) => (socket.terminate(), { statusCode: 101, body: '' }),
      (error: { statusCode: number; body: string }) => error,
    )) as { statusCode: number; body: string };
    t.equal(sixth.statusCode, 429);
    t.match(JSON.parse(sixth.body), { code: 'GATEWAY_TOO_MANY_SOCKETS', detail: /per user/ });
  });

  t.test('lockout: failures from one address cannot lock the owner out from theirs', { skip: !distinctAddresses && 'needs distinct client addresses' }, async (t) => {
    const owner = await newUser(newClientAddress());
    const attacker = newClientAddress();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await call('POST', '/v1/auth/login', { body: { email: owner.email, password: `guess ${attempt}` }, from: attacker });
    }
    const attackerAgain = await call('POST', '/v1/auth/login', { body: { email: owner.email, password: owner.password }, from: attacker });
    t.equal(attackerAgain.status, 429, 'the guessing address is throttled');
    const ownerLogin = await call('POST', '/v1/auth/login', { body: { email: owner.email, password: owner.password }, from: newClientAddress() });
    t.equal(ownerLogin.status, 200, 'the owner logs in from their own address');
  });

  t.test('X-Forwarded-For from a client changes nothing: per-address limits hold', async (t) => {
    const from = newClientAddress();
    const attempt = (n: number) =>
      call('POST', '/v1/auth/login', {
        body: { email: `nobody-${n}@example.test`, password: 'guess' },
        headers: { 'x-forwarded-for': `203.0.113.${n}`, forwarded: `for=203.0.113.${n}` },
        from,
      });
    // The attempts must share one rate-limit window: they start with seconds of it left.
    let first = await attempt(0);
    if (Number(first.headers['ratelimit-reset']) < 3) {
      await new Promise((resolve) => setTimeout(resolve, (Number(first.headers['ratelimit-reset']) + 1) * 1_000));
      first = await attempt(0);
    }
    const replies = [first];
    for (let n = 1; n < 12; n += 1) replies.push(await attempt(n));
    const remaining = replies.map((reply) => Number(reply.headers['ratelimit-remaining']));
    // Each claimed address would get a fresh bucket if the header were believed. A compose stack
    // runs with raised limits (one address for every client), so the count itself shows it there.
    t.ok(
      remaining.every((value, n) => n === 0 || value < remaining[n - 1]! || (value === 0 && remaining[n - 1] === 0)),
      `one bucket for the connection's address whatever the headers claim: remaining ${remaining.join(',')}`,
    );
    const limit = Number(first.headers['ratelimit-limit']);
    const statuses = replies.map((reply) => reply.status);
    if (distinctAddresses || limit < replies.length) {
      t.ok(statuses.slice(limit).every((status) => status === 429), `the login limit (${limit} per address) holds: ${statuses.join(',')}`);
    }
  });
});
