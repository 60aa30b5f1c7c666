import { connect } from 'node:net';
import t from 'tap';
import { buildKitApp, eventually } from './helper';

t.test('a client that hangs up mid-body is logged as that, at info, never as an unhandled error', async (t) => {
  const { app, logs } = await buildKitApp(t);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };

  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('POST /widgets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"half');
  t.ok(await eventually(() => logs.lines.some((line) => (line.req as { url?: string } | undefined)?.url === '/widgets')), 'the request arrived');
  socket.destroy();

  t.ok(await eventually(() => logs.lines.some((line) => line.msg === 'client disconnected before its request was complete')), 'said for what it is');
  const line = logs.lines.find((entry) => entry.msg === 'client disconnected before its request was complete')!;
  t.equal(line.level, 30, 'at info');
  t.ok(line.requestId, 'with the request id');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(
    logs.lines.filter((entry) => (entry.level as number) >= 50),
    [],
    'nothing at error level',
  );
});

t.test('a connection error of something the handler called is still an error', async (t) => {
  const { app, logs } = await buildKitApp(t);
  app.get('/upstream-reset', async () => {
    throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  });
  const response = await app.inject({ method: 'GET', url: '/upstream-reset' });
  t.equal(response.statusCode, 500);
  t.ok(logs.lines.some((entry) => entry.level === 50 && entry.msg === 'unhandled error'), 'logged as the fault it is');
});
