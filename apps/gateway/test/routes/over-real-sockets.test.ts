import { randomUUID } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Teardown } from '@shop/testing';
import t from 'tap';
import { Agent, request } from 'undici';
import { buildGateway, startRealCatalog } from '../helper';

/**
 * The gateway over real sockets, as clients meet it: 304, 204 and HEAD answers (`inject()` never
 * frames a response, so it could not see the bogus Content-Length that made every conditional
 * GET a 502), and hostile reads that used to come back as 500s from the catalog.
 */

/**
 * Writes raw requests on one connection and returns every byte the server sent: first until the
 * heads of `expectedAnswers` answers are in (behind a real upstream an answer may come well after
 * the one before it; 15 s at most), then until the connection has been quiet for `quietMs`, so
 * that whatever follows them (a body, or bytes that should not be there) is caught too.
 */
async function rawExchange(url: string, raw: string, expectedAnswers: number, quietMs = 200): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.write(raw);
  const deadline = Date.now() + 15_000;
  const headsIn = () => answersOf(received).filter((answer) => answer.head.endsWith('\r\n\r\n')).length;
  while (headsIn() < expectedAnswers && Date.now() < deadline) await delay(25);
  let seen = '';
  do {
    seen = received;
    await delay(quietMs);
  } while (received !== seen);
  socket.destroy();
  return received;
}

/** The answers in a raw exchange, each split into its head and whatever came after it. */
function answersOf(raw: string): { head: string; rest: string }[] {
  return raw
    .split(/(?=HTTP\/1\.1 \d{3} )/)
    .filter((part) => part !== '')
    .map((part) => {
      const end = part.indexOf('\r\n\r\n');
      return { head: part.slice(0, end + 4), rest: part.slice(end + 4) };
    });
}

async function listeningGateway(t: Teardown, upstreams: { catalog: string }) {
  const { app, issuer } = await buildGateway(t, upstreams);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  // One connection, so "the next request" really goes over the connection that carried the 304.
  const client = new Agent({ connections: 1, pipelining: 1 });
  t.teardown(() => client.close());
  return { url: `http://127.0.0.1:${port}`, client, issuer };
}

t.test('in front of the real catalog', async (t) => {
  const catalog = await startRealCatalog(t);
  const gateway = await listeningGateway(t, { catalog: catalog.url });
  const get = (url: string, headers: Record<string, string> = {}) => request(url, { headers, dispatcher: gateway.client });

  const list = await get(`${gateway.url}/v1/products?limit=1`);
  const productId = ((await list.body.json()) as { items: { id: string; categoryId: string }[] }).items[0]!.id;
  const categories = await get(`${gateway.url}/v1/categories?limit=1`);
  const categoryId = ((await categories.body.json()) as { items: { id: string }[] }).items[0]!.id;

  for (const path of [`/v1/products/${productId}`, `/v1/categories/${categoryId}`]) {
    t.test(path, async (t) => {
      const first = await get(`${gateway.url}${path}`);
      const representation = await first.body.text();
      t.equal(first.statusCode, 200);
      const etag = first.headers.etag as string;
      t.match(etag, /^"/, 'an ETag to revalidate with');

      const direct = await request(`${catalog.url}${path}`, { headers: { 'if-none-match': etag } });
      t.equal(direct.statusCode, 304, 'the catalog itself answers 304');
      t.notOk(direct.headers['content-length'], '…without the Content-Length of a body it does not send');
      await direct.body.dump();

      const revalidated = await get(`${gateway.url}${path}`, { 'if-none-match': etag });
      t.equal(revalidated.statusCode, 304, 'a real client gets the 304 through the gateway (was 502)');
      t.equal(revalidated.headers.etag, etag, 'with the validator');
      t.equal(revalidated.headers['cache-control'], 'public, no-cache');
      t.equal(await revalidated.body.text(), '', 'and no body');

      const again = await get(`${gateway.url}${path}`);
      t.equal(again.statusCode, 200, 'the same connection carries the next request');
      t.equal(await again.body.text(), representation);

      const viaFetch = await fetch(`${gateway.url}${path}`, { headers: { 'if-none-match': etag } });
      t.equal(viaFetch.status, 304, 'fetch() too');

      const raw = answersOf(
        await rawExchange(
          gateway.url,
          `GET ${path} HTTP/1.1\r\nHost: shop\r\nIf-None-Match: ${etag}\r\n\r\n` +
            `HEAD ${path} HTTP/1.1\r\nHost: shop\r\n\r\n` +
            `GET ${path} HTTP/1.1\r\nHost: shop\r\n\r\n`,
          3,
        ),
      );
      t.equal(raw.length, 3, 'three answers on one connection, in step');
      t.match(raw[0]!.head, /^HTTP\/1\.1 304 /);
      t.match(raw[0]!.head, new RegExp(`\r\netag: ${etag}\r\n`, 'i'));
      t.notMatch(raw[0]!.head, /\r\n(content-length|transfer-encoding):/i, 'no framing on the 304');
      t.equal(raw[0]!.rest, '', 'and not a byte after its head');
      t.match(raw[1]!.head, /^HTTP\/1\.1 200 /, 'HEAD');
      t.match(raw[1]!.head, new RegExp(`\r\ncontent-length: ${Buffer.byteLength(representation)}\r\n`, 'i'), "HEAD tells the GET's length");
      t.equal(raw[1]!.rest, '', '…and sends no body');
      t.match(raw[2]!.head, /^HTTP\/1\.1 200 /);
      t.equal(raw[2]!.rest.endsWith(representation), true, 'the GET after them gets the whole representation');
    });
  }

  t.test('hostile reads are 400 problems from end to end (they were 500s)', async (t) => {
    const cursorOf = (position: unknown) => Buffer.from(JSON.stringify(position)).toString('base64url');
    const someId = randomUUID();
    const cases: [string, string][] = [
      ['/v1/products?q=%00', '/querystring/q'],
      ['/v1/products?q=a%ED%A0%80b', ''],
      ['/v1/products?minPrice=2147483648', '/querystring/minPrice'],
      ['/v1/products?maxPrice=1e400', '/querystring/maxPrice'],
      [`/v1/products?sort=price&cursor=${cursorOf(['price', 2147483648, someId])}`, '/querystring/cursor'],
      [`/v1/products?sort=createdAt&cursor=${cursorOf(['createdAt', '0000-01-01T00:00:00.000Z', someId])}`, '/querystring/cursor'],
      [`/v1/products?sort=name&cursor=${cursorOf(['name', 'a\u0000b', someId])}`, '/querystring/cursor'],
      [`/v1/categories?cursor=${cursorOf(['name', 'a\ud800b', someId])}`, '/querystring/cursor'],
    ];
    for (const [path, pointer] of cases) {
      const response = await request(`${gateway.url}${path}`, { dispatcher: gateway.client });
      const problem = (await response.body.json()) as { code: string; errors?: { path: string }[] };
      if (pointer === '') {
        // Invalid UTF-8 in a query decodes to U+FFFD: a search for it is just a search.
        t.equal(response.statusCode, 200, path);
        continue;
      }
      t.equal(response.statusCode, 400, path);
      t.equal(response.headers['content-type'], 'application/problem+json', path);
      t.equal(problem.code, 'REQUEST_VALIDATION_FAILED', path);
      t.ok(problem.errors?.some((error) => error.path === pointer), `${path} names ${pointer}`);
    }
  });
});

/**
 * A service that gets framing wrong the ways real ones do: a 304 and a 204 with Content-Length
 * and a body, and a body after the head of a HEAD answer. Every request on a connection is answered
 * in turn, so leftover bytes land where the next answer's head should be.
 */
async function startSloppyUpstream(t: Teardown) {
  const seen: string[] = [];
  const server = createServer((socket) => {
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        const [method, path] = head.split(' ');
        seen.push(`${method} ${path}`);
        const conditional = /\r\nif-none-match:/i.test(head);
        if (method === 'GET' && path!.startsWith('/v1/products/') && conditional) {
          socket.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nCache-Control: public, no-cache\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\nnull');
        } else if (method === 'HEAD' && path!.startsWith('/v1/products/')) {
          socket.write('HTTP/1.1 200 OK\r\nETag: "v1"\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}');
        } else if (method === 'DELETE') {
          socket.write('HTTP/1.1 204 No Content\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\nnull');
        } else if (path!.startsWith('/v1/')) {
          socket.write('HTTP/1.1 200 OK\r\nETag: "v1"\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}');
        } else {
          socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        }
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

t.test('from a sloppy upstream, 304, 204 and HEAD still reach the client cleanly', async (t) => {
  const sloppy = await startSloppyUpstream(t);
  const gateway = await listeningGateway(t, { catalog: sloppy.url });
  const path = `/v1/products/${randomUUID()}`;
  const token = await gateway.issuer.tokenFor({ scopes: ['catalog:write'] });

  const notModified = await request(`${gateway.url}${path}`, { headers: { 'if-none-match': '"v1"' }, dispatcher: gateway.client });
  t.equal(notModified.statusCode, 304, 'a 304 with "content-length: 4" and a body is still a 304, not a 502');
  t.equal(notModified.headers.etag, '"v1"', 'ETag kept');
  t.equal(notModified.headers['cache-control'], 'public, no-cache', 'Cache-Control kept');
  t.notOk(notModified.headers['content-length'], 'the bogus length is not passed on');
  t.equal(await notModified.body.text(), '');

  const deleted = await request(`${gateway.url}${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` }, dispatcher: gateway.client });
  t.equal(deleted.statusCode, 204, 'a 204 with a length and a body is still a 204');
  t.notOk(deleted.headers['content-length']);
  t.notOk(deleted.headers['content-type']);
  t.equal(await deleted.body.text(), '');

  const head = await request(`${gateway.url}${path}`, { method: 'HEAD', dispatcher: gateway.client });
  t.equal(head.statusCode, 200);
  t.equal(head.headers['content-length'], '11', "HEAD keeps the length of the GET's body");
  t.equal(await head.body.text(), '');

  const next = await request(`${gateway.url}${path}`, { dispatcher: gateway.client });
  t.equal(next.statusCode, 200, 'the next request on the same client connection is answered in full');
  t.same(await next.body.json(), { ok: true });

  const raw = answersOf(
    await rawExchange(
      gateway.url,
      `GET ${path} HTTP/1.1\r\nHost: shop\r\nIf-None-Match: "v1"\r\n\r\n` +
        `HEAD ${path} HTTP/1.1\r\nHost: shop\r\n\r\n` +
        `DELETE ${path} HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer ${token}\r\n\r\n` +
        `GET ${path} HTTP/1.1\r\nHost: shop\r\n\r\n`,
      4,
    ),
  );
  t.same(
    raw.map((answer) => answer.head.slice(0, 12)),
    ['HTTP/1.1 304', 'HTTP/1.1 200', 'HTTP/1.1 204', 'HTTP/1.1 200'],
    'four answers, in step, on one raw connection',
  );
  t.notMatch(raw[0]!.head, /\r\n(content-length|transfer-encoding):/i);
  t.equal(raw[0]!.rest, '', 'the upstream\'s "null" never reaches the client');
  t.equal(raw[1]!.rest, '');
  t.notMatch(raw[2]!.head, /\r\n(content-length|content-type|transfer-encoding):/i);
  t.equal(raw[2]!.rest, '');
  t.equal(raw[3]!.rest, '{"ok":true}');
  t.ok(sloppy.seen.filter((line) => line.startsWith('GET /v1/products/')).length >= 4, 'every request did reach the upstream');
});
