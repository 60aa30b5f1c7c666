import { connect, type Socket } from 'node:net';
import t from 'tap';
import { buildKitApp } from './helper';

/**
 * A body over the limit, over real sockets: Fastify refuses it before reading it and closes the
 * connection, and a server that closes while the client is still sending resets it, so the client
 * sees EPIPE or ECONNRESET instead of the 413 (fetch does, one run in a few). The kit reads such
 * a body to its end and drops it before answering, so every client gets the 413.
 */
const OVER_LIMIT = JSON.stringify({ name: 'x'.repeat(1_100_000), quantity: 1 });
const ATTEMPTS = 40;

/** A plain TCP connection to the app, listening on a free port, and everything it has received so far. */
async function rawConnection(app: Awaited<ReturnType<typeof buildKitApp>>['app']): Promise<{ socket: Socket; received: () => string }> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  let received = '';
  socket.on('data', (chunk) => (received += String(chunk)));
  return { socket, received: () => received };
}

t.test('a body over 1 MiB: every client hears the 413, none a reset', async (t) => {
  const { app } = await buildKitApp(t);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  const outcomes = new Map<string, number>();
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const outcome = await fetch(`${url}/widgets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: OVER_LIMIT }).then(
      async (response) => `${response.status} ${((await response.json()) as { code: string }).code}`,
      (error: Error & { cause?: { code?: string } }) => `no answer: ${error.cause?.code ?? error.message}`,
    );
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  t.same(Object.fromEntries(outcomes), { '413 REQUEST_BODY_TOO_LARGE': ATTEMPTS }, `${ATTEMPTS} of ${ATTEMPTS} declared-length bodies answered 413`);

  const chunked = await fetch(`${url}/widgets`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // A stream is sent chunked: the limit is only found while reading.
    body: new Blob([OVER_LIMIT]).stream(),
    duplex: 'half',
  } as RequestInit);
  t.equal(chunked.status, 413, 'a chunked body that grows over the limit too');
});

t.test('a client that sends slowly still hears the 413, and every byte it writes is taken', async (t) => {
  const { app } = await buildKitApp(t);
  const { socket, received } = await rawConnection(app);
  const writeErrors: string[] = [];
  socket.on('error', (error: NodeJS.ErrnoException) => writeErrors.push(error.code ?? error.message));
  const body = Buffer.from(OVER_LIMIT);
  socket.write(`POST /widgets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  // The server has answered by the second chunk: a server that closes then resets what follows.
  let sent = 0;
  for (let offset = 0; offset < body.length && !socket.destroyed; offset += 128 * 1024) {
    socket.write(body.subarray(offset, offset + 128 * 1024));
    sent += body.subarray(offset, offset + 128 * 1024).length;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const deadline = Date.now() + 10_000;
  while (!received().includes('REQUEST_BODY_TOO_LARGE') && !socket.destroyed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  socket.destroy();
  t.equal(sent, body.length, 'the whole body could be sent: the connection was not closed under it');
  t.same(writeErrors, [], 'no write was refused');
  t.match(received(), /^HTTP\/1\.1 413 [^]*REQUEST_BODY_TOO_LARGE/, 'and the 413 arrived');
});

t.test('the connection that carried the refused body stays usable', async (t) => {
  const { app } = await buildKitApp(t);
  const { socket, received } = await rawConnection(app);
  socket.write(`POST /widgets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(OVER_LIMIT)}\r\n\r\n`);
  socket.write(OVER_LIMIT);
  socket.write('GET /widgets HTTP/1.1\r\nHost: x\r\n\r\n');
  const deadline = Date.now() + 10_000;
  while (!/HTTP\/1\.1 200/.test(received()) && !socket.destroyed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  socket.destroy();
  t.match(received(), /^HTTP\/1\.1 413 /, 'first the 413');
  t.notMatch(received().split('\r\n\r\n')[0]!, /connection: close/i, 'without closing the connection');
  t.match(received(), /HTTP\/1\.1 200 /, 'then the next request on the same connection is served');
});

t.test('a declared length far over any drain is refused and the connection closed at once', async (t) => {
  const { app } = await buildKitApp(t);
  const { socket, received } = await rawConnection(app);
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write('POST /widgets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{"name":');
  await closed;
  t.match(received(), /^HTTP\/1\.1 413 /, 'the 413');
  t.match(received().split('\r\n\r\n')[0]!, /connection: close/i, 'and the server does not wait for 10 GB it will not read');
});

t.test('a client that hangs up mid-body is not waited for: its answer is finished at once', async (t) => {
  const { app } = await buildKitApp(t);
  let reachedAfterKit: number | undefined;
  // Apps' onSend hooks run after the kit's: this one is reached only once the kit lets the answer go.
  app.addHook('onSend', (request, _reply, payload, done) => {
    if (request.url === '/widgets') reachedAfterKit = Date.now();
    done(null, payload);
  });
  const { socket } = await rawConnection(app);
  socket.write('POST /widgets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"name":"half');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const hungUpAt = Date.now();
  socket.destroy();
  const deadline = Date.now() + 15_000;
  while (reachedAfterKit === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.ok(reachedAfterKit !== undefined && reachedAfterKit - hungUpAt < 2_500, `answered ${reachedAfterKit === undefined ? 'never' : `${reachedAfterKit - hungUpAt} ms`} after the hang-up (a drain that missed it would wait 5 s)`);
});
