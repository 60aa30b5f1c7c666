import http from 'node:http';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { BODY_LIMIT_BYTES } from '../src/index';
import { addHeldRoute, buildKitApp, eventually } from './helper';

t.test('graceful shutdown', async (t) => {
  const { app, logs } = await buildKitApp(t);
  // Held until the test has seen how closing treats the others: the drain must have it to wait for.
  const release = addHeldRoute(t, app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };

  // A client that keeps its connection open after the response, as proxies and SDKs do.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const held = get(port, '/held', agent);
  t.ok(await eventually(() => logs.lines.some((line) => (line.req as { url?: string } | undefined)?.url === '/held')), 'the held request is in flight');

  // Another connection has sent part of a request: it is not idle, so closing keeps it open.
  const late = connect(port, '127.0.0.1');
  await new Promise((resolve) => late.once('connect', resolve));
  late.write('GET /health HTTP/1.1\r\nHost: localhost\r\n');
  const lateResponse = readAll(late);

  const closed = app.close();
  t.ok(await eventually(() => !app.server.listening), 'the server stops listening at once');

  late.write('X-Request-Id: late-one\r\n\r\n');
  const refused = await lateResponse;
  t.match(refused, /^HTTP\/1\.1 503 /, 'a request arriving while closing is refused');
  t.match(refused, /\r\ncontent-type: application\/problem\+json\r\n/i);
  t.match(refused, /\r\nconnection: close\r\n/i, 'and its connection closed');
  const problem = JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4));
  t.match(problem, { code: 'SERVICE_SHUTTING_DOWN', status: 503, requestId: 'late-one', instance: '/health' });

  await t.rejects(app.inject({ method: 'GET', url: '/health' }), { code: 'FST_ERR_REOPENED_CLOSE_SERVER' }, 'inject refuses while closing');

  release();
  const finished = await held;
  t.equal(finished.status, 200, 'the request in flight completes');
  t.same(JSON.parse(finished.body), { done: true });
  t.equal(finished.headers.connection, 'close', 'and tells its client the connection is closing');

  // Without that, the idle keep-alive connection would hold close() for the whole keep-alive timeout (72 s).
  let guard: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((resolve) => (guard = setTimeout(resolve, 10_000, 'still open')))]);
  clearTimeout(guard);
  t.equal(outcome, 'closed', 'close() returns once the in-flight request is done');
});

t.test('/docs/openapi.json is an OpenAPI 3.1 document of the routes', async (t) => {
  const { app } = await buildKitApp(t);
  const response = await app.inject({ method: 'GET', url: '/docs/openapi.json' });
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^application\/json/);
  const document = response.json<{ openapi: string; info: Record<string, string>; paths: Record<string, Record<string, unknown>>; components: Record<string, unknown> }>();
  t.equal(document.openapi, '3.1.0');
  t.match(document.info, { title: 'kit-test service', version: '0.0.1', description: 'The service kit under test' });
  t.ok(document.paths['/widgets']?.get, 'GET /widgets');
  t.ok(document.paths['/widgets']?.post, 'POST /widgets');
  t.ok(document.paths['/widgets/{id}']?.patch, 'PATCH /widgets/{id}');
  t.match(document.paths['/widgets']?.post, {
    requestBody: { content: { 'application/json': { schema: { required: ['name', 'quantity'], additionalProperties: false } } } },
  });
  t.notOk(document.paths['/health'], 'the kit’s own routes are hidden');
  t.notOk(document.paths['/docs/openapi.json']);
  t.match(document.components, { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } });
});

t.test('BODY_LIMIT_BYTES is the contract’s 1 MiB', async (t) => {
  t.equal(BODY_LIMIT_BYTES, 1_048_576);
});

function get(port: number, path: string, agent: http.Agent): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      })
      .on('error', reject);
  });
}

function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
}
