import { connect } from 'node:net';
import t from 'tap';
import { buildKitApp } from './helper';

async function rawAnswer(port: number, raw: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  socket.write(raw);
  await new Promise((resolve) => socket.once('close', resolve));
  return received;
}

t.test('a request that is not valid HTTP gets a problem+json too, and its connection is closed', async (t) => {
  const { app } = await buildKitApp(t);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const cases: [string, string, number, string][] = [
    ['a NUL in a header', 'GET /widgets HTTP/1.1\r\nHost: x\r\nX-Note: a\u0000b\r\n\r\n', 400, 'REQUEST_MALFORMED'],
    ['a broken request line', 'GET /widgets HTTP/9\r\n\r\n', 400, 'REQUEST_MALFORMED'],
    ['headers beyond the limit', `GET /widgets HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'REQUEST_HEADERS_TOO_LARGE'],
  ];
  for (const [label, raw, status, code] of cases) {
    const answer = await rawAnswer(port, raw);
    t.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), label);
    t.match(answer, /\r\ncontent-type: application\/problem\+json\r\n/i, label);
    t.match(answer, /\r\nx-request-id: [0-9a-f-]{36}\r\n/i, label);
    const problem = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    t.match(problem, { status, code, type: String, title: String, requestId: String }, label);
  }
});
