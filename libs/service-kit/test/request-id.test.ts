import t from 'tap';
import { REQUEST_ID_HEADER } from '../src/index';
import { buildKitApp, problemOf } from './helper';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

t.test('a sane client request id is echoed, on success and on error', async (t) => {
  const { app } = await buildKitApp(t);
  t.equal(REQUEST_ID_HEADER, 'x-request-id');
  for (const id of ['abc-123', 'trace:7f/span=1', '3f1c2a4e-8b7d-4c6e-9a0b-1d2e3f4a5b6c', 'x'.repeat(128)]) {
    const ok = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': id } });
    t.equal(ok.headers['x-request-id'], id, `echoed: ${id}`);
    const failed = await app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': id } });
    t.equal(failed.headers['x-request-id'], id);
    t.equal(problemOf(failed).requestId, id);
  }
});

t.test('an insane client request id is replaced by a generated one', async (t) => {
  const { app } = await buildKitApp(t);
  const insane = ['x'.repeat(129), 'has spaces in it', '<script>alert(1)</script>', 'quote"d', 'semi;colon', ''];
  for (const id of insane) {
    const response = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': id } });
    t.match(response.headers['x-request-id'], UUID, `replaced: ${JSON.stringify(id)}`);
  }
  // An id sent twice arrives joined ("a, b"): not one sane id either.
  const twice = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': ['one', 'two'] } });
  t.match(twice.headers['x-request-id'], UUID);
});

t.test('CRLF in a request id never reaches a response header (real HTTP)', async (t) => {
  const { app } = await buildKitApp(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const { connect } = await import('node:net');
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: evil\rSet-Cookie: a=b\r\nConnection: close\r\n\r\n');
    });
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
  t.notMatch(raw, /set-cookie/i, 'no header was injected');
  t.match(raw, /^HTTP\/1\.1 400/, "node's parser refuses a bare CR in a header");
});

t.test('an id is generated when absent, unique per request', async (t) => {
  const { app } = await buildKitApp(t);
  const first = await app.inject({ method: 'GET', url: '/health' });
  const second = await app.inject({ method: 'GET', url: '/health' });
  t.match(first.headers['x-request-id'], UUID);
  t.match(second.headers['x-request-id'], UUID);
  t.not(first.headers['x-request-id'], second.headers['x-request-id']);
});

t.test('every log line of a request carries its id', async (t) => {
  const { app, logs } = await buildKitApp(t);
  await app.inject({ method: 'GET', url: '/log-something', headers: { 'x-request-id': 'req-one' } });
  await app.inject({ method: 'GET', url: '/log-something', headers: { 'x-request-id': 'req-two' } });
  const ofOne = logs.lines.filter((line) => line.requestId === 'req-one');
  t.same(
    ofOne.map((line) => line.msg),
    ['incoming request', 'handler ran', 'request completed'],
  );
  t.equal(logs.lines.filter((line) => line.requestId === 'req-two').length, 3);
  const requestLines = logs.lines.filter((line) => line.req || line.res || line.step);
  t.ok(
    requestLines.every((line) => line.requestId === 'req-one' || line.requestId === 'req-two'),
    'no request line without its id',
  );

  const generated = await app.inject({ method: 'GET', url: '/boom' });
  const id = generated.headers['x-request-id'];
  const ofCrash = logs.lines.filter((line) => line.requestId === id);
  t.same(
    ofCrash.map((line) => line.msg),
    ['incoming request', 'unhandled error', 'request completed'],
    'a generated id is on every line too, the error included',
  );
});
