/**
 * The benchmark's yardstick, not a gateway: node:http and an undici pool forwarding GET
 * requests to CATALOG_URL with the Authorization header, the body gathered through undici's
 * dispatcher handler (its cheapest API), and nothing else: no routing, identity, limits,
 * security headers, logging or resilience. What any Node.js proxy on this machine pays for
 * the extra hop; the gateway's figure is read against it.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding'];
const pool = new Pool(process.env.CATALOG_URL ?? 'http://127.0.0.1:3002', { connections: 128 });

const server = createServer((request, response) => {
  if (request.url === '/health') return void response.end('ok');
  const authorization = request.headers.authorization;
  let statusCode = 502;
  let headers: IncomingHttpHeaders = {};
  const chunks: Buffer[] = [];
  pool.dispatch(
    { method: 'GET', path: request.url ?? '/', headers: authorization ? { authorization } : {} },
    {
      onRequestStart() {},
      onResponseStart(_controller, code, responseHeaders) {
        statusCode = code;
        headers = responseHeaders;
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        for (const name of HOP_BY_HOP) delete headers[name];
        response.writeHead(statusCode, headers).end(Buffer.concat(chunks));
      },
      onResponseError() {
        response.writeHead(502).end();
      },
    },
  );
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => void pool.close().then(() => process.exit(0))));
