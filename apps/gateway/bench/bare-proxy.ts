/**
 * The benchmark's yardstick, not a gateway: node:http and an undici pool forwarding
 * GET requests to CATALOG_URL with the Authorization header, and nothing else (no routing,
 * identity, limits, security headers, logging or resilience). What any Node.js proxy on this
 * machine pays for the extra hop; the gateway's figure is read against it.
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding'];
const pool = new Pool(process.env.CATALOG_URL ?? 'http://127.0.0.1:3002', { connections: 128 });

const server = createServer((request, response) => {
  if (request.url === '/health') return void response.end('ok');
  const authorization = request.headers.authorization;
  pool
    .request({ method: 'GET', path: request.url ?? '/', headers: authorization ? { authorization } : {} })
    .then(async ({ statusCode, headers, body }) => {
      const payload = Buffer.from(await body.arrayBuffer());
      for (const name of HOP_BY_HOP) delete headers[name];
      response.writeHead(statusCode, headers).end(payload);
    })
    .catch(() => response.writeHead(502).end());
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => void pool.close().then(() => process.exit(0))));
