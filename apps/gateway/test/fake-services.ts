import { createServer, type IncomingHttpHeaders } from 'node:http';
import { OPERATIONS_BY_SERVICE, type UpstreamName } from '@shop/contracts';
import { AppError, routeSchemaOf } from '@shop/service-kit';
import type { Teardown } from '@shop/testing';
import { WebSocketServer, type WebSocket } from 'ws';
import { startFakeUpstream, type FakeUpstream } from './helper';

export interface FakeService extends FakeUpstream {
  /** `METHOD /route` of every request that matched one of the fake's routes, schema validation or not. */
  reached: string[];
}

/** A route every service has and the gateway must never reach from outside. */
export const INTERNAL_PATH = '/internal/v1/probe';

/**
 * A stand-in for one service, made from the operation table: every HTTP operation the contracts
 * declare for it, with their schemas, answering "no such resource" (enough to prove a request
 * was routed to it), and one internal route.
 */
export async function startFakeService(t: Teardown, service: UpstreamName): Promise<FakeService> {
  const reached: string[] = [];
  const fake = await startFakeUpstream(t, service, (app) => {
    app.addHook('onRequest', async (request) => {
      if (request.routeOptions.url !== undefined) reached.push(`${request.method} ${request.routeOptions.url}`);
    });
    for (const operation of Object.values(OPERATIONS_BY_SERVICE[service])) {
      if (operation.websocket) continue;
      app.route({
        method: operation.method,
        url: operation.path,
        schema: routeSchemaOf(operation),
        handler: async () => {
          throw new AppError('RESOURCE_NOT_FOUND');
        },
      });
    }
    app.get(INTERNAL_PATH, async () => ({ internal: true }));
  });
  return { ...fake, reached };
}

/** All four services, faked. */
export async function startFakeServices(t: Teardown): Promise<Record<UpstreamName, FakeService>> {
  const [auth, catalog, orders, recommendations] = await Promise.all(
    (['auth', 'catalog', 'orders', 'recommendations'] as const).map((service) => startFakeService(t, service)),
  );
  return { auth: auth!, catalog: catalog!, orders: orders!, recommendations: recommendations! };
}

export interface FakeOrdersConnection {
  url: string;
  headers: IncomingHttpHeaders;
  /** The service's end: a test pushes updates through it, or closes it as orders would. */
  socket: WebSocket;
  closed?: { code: number; reason: string };
}

export interface FakeOrdersSocketOptions {
  /** Sent as soon as a socket opens, so a client can tell that the upgrade reached the service. */
  greeting?: unknown;
  /** Each message comes back as `echo:<message>`, proving the client-to-service direction; `close please` closes with 4001 `bye`. */
  echo?: boolean;
}

/**
 * Orders' WebSocket endpoint (the one operation startFakeService leaves out) as the service
 * behaves at the handshake: no bearer token is a 401 problem, a URL containing `forbidden` stands
 * for a token without the scope (a 403 problem); any other upgrade is accepted and recorded.
 */
export async function startFakeOrdersSocket(t: Teardown, options: FakeOrdersSocketOptions = {}): Promise<{ url: string; connections: FakeOrdersConnection[] }> {
  const connections: FakeOrdersConnection[] = [];
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((_request, response) => response.writeHead(404).end());
  server.on('upgrade', (request, socket, head) => {
    if (!request.headers.authorization?.startsWith('Bearer ')) {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/problem+json\r\nconnection: close\r\n\r\n{"code":"AUTH_TOKEN_MISSING","status":401}');
      return;
    }
    if (request.url?.includes('forbidden')) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: application/problem+json\r\nconnection: close\r\n\r\n{"code":"AUTH_SCOPE_REQUIRED","status":403}');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const connection: FakeOrdersConnection = { url: request.url!, headers: request.headers, socket: ws };
      connections.push(connection);
      if (options.greeting !== undefined) ws.send(JSON.stringify(options.greeting));
      if (options.echo) {
        ws.on('message', (data) => {
          if (data.toString() === 'close please') ws.close(4001, 'bye');
          else ws.send(`echo:${data.toString()}`);
        });
      }
      ws.on('close', (code, reason) => (connection.closed = { code, reason: reason.toString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const client of wss.clients) client.terminate();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, connections };
}
