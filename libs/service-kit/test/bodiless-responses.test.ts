import { connect } from 'node:net';
import { Type } from '@sinclair/typebox';
import t from 'tap';
import { request } from 'undici';
import { buildKitApp } from './helper';

/** Sends raw requests on one connection and returns everything the server wrote until it goes quiet. */
async function exchange(port: number, raw: string, quietMs = 150): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.write(raw);
  let last = '';
  do {
    last = received;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  } while (received !== last || received === '');
  socket.destroy();
  return received;
}

t.test('204 and 304 go out without content or framing for one, whatever the route sent', async (t) => {
  const { app } = await buildKitApp(t);
  app.get('/not-modified', { schema: { response: { 200: Type.Object({ ok: Type.Boolean() }), 304: Type.Null() } } }, async (_request, reply) =>
    reply.code(304).header('etag', '"v7"').header('cache-control', 'public, no-cache').send(null),
  );
  app.delete('/gone', { schema: { response: { 204: Type.Null() } } }, async (_request, reply) => reply.code(204).send(null));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };

  const raw = await exchange(
    port,
    'GET /not-modified HTTP/1.1\r\nHost: x\r\n\r\nDELETE /gone HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n',
  );
  const [notModified, gone, health] = raw.split(/(?=HTTP\/1\.1 )/);
  t.match(notModified, /^HTTP\/1\.1 304 /);
  t.match(notModified, /\r\netag: "v7"\r\n/i, 'the validators stay');
  t.match(notModified, /\r\ncache-control: public, no-cache\r\n/i);
  t.notMatch(notModified, /\r\n(content-length|content-type|transfer-encoding):/i, 'no framing for content that is not there');
  t.ok(notModified!.endsWith('\r\n\r\n'), 'and no bytes after the head');
  t.match(gone, /^HTTP\/1\.1 204 /);
  t.notMatch(gone, /\r\n(content-length|content-type|transfer-encoding):/i);
  t.ok(gone!.endsWith('\r\n\r\n'));
  t.match(health, /^HTTP\/1\.1 200 /, 'the connection is still in step for the next request');

  const viaUndici = await request(`http://127.0.0.1:${port}/not-modified`);
  t.equal(viaUndici.statusCode, 304, 'a strict client accepts it');
  t.equal(await viaUndici.body.text(), '');
});
