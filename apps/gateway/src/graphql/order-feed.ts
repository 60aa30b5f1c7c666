import { EventEmitter, on } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { ORDERS_OPERATIONS } from '@shop/contracts';
import { AppError } from '@shop/service-kit';
import type { FastifyRequest } from 'fastify';
import { WebSocket } from 'ws';
import type { Upstream } from '../upstream/upstream';
import { UpstreamError } from '../upstream/upstream-error';
import { classifyHandshakeError, sendableCloseCode } from '../upstream/websocket-close';
import { ServiceProblem } from './service-calls';

/**
 * `orderUpdated` for one client connection: the orders service's own WebSocket (the table's
 * `orderEvents`, GET /v1/orders/events, which sends each change of the caller's orders and
 * nothing else), opened with the caller's token on the first subscription and shared by every later one, so a
 * connection holds one upstream socket whatever it subscribes to; the per-user socket cap thus
 * counts GraphQL connections as it counts REST sockets.
 *
 * Closing follows the REST socket: when orders closes its end (4001 once the token expires or is
 * revoked, 4003 when the account may no longer hold it, 1001 on shutdown) the client's
 * connection is closed with the same code; when the client goes, the upstream socket goes too.
 */
export class OrderFeed {
  private readonly events = new EventEmitter();
  private opening: Promise<void> | null = null;
  private upstreamSocket: WebSocket | null = null;

  constructor(
    private readonly upstream: Upstream,
    private readonly request: FastifyRequest,
    private readonly client: WebSocket,
    private readonly handshakeTimeoutMs: number,
  ) {
    this.events.setMaxListeners(0);
    client.once('close', () => this.upstreamSocket?.terminate());
  }

  /** An iterator of `[order]`, one per change; throws a ServiceProblem when orders refuses the socket. */
  async updates(): Promise<AsyncIterableIterator<unknown[]>> {
    this.opening ??= this.open();
    try {
      await this.opening;
    } catch (error) {
      // The next subscription may try again (orders may be back).
      this.opening = null;
      throw error;
    }
    return on(this.events, 'order');
  }

  private async open(): Promise<void> {
    let opened: WebSocket | ServiceProblem;
    try {
      opened = await this.upstream.guarded(() => this.handshake(), classifyHandshakeError);
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      this.request.log.warn({ upstream: this.upstream.name, failure: error.failure, err: error.cause }, 'upstream WebSocket failed');
      throw ServiceProblem.of(error.toAppError());
    }
    if (opened instanceof ServiceProblem) throw opened;
    const socket = opened;
    if (this.client.readyState !== WebSocket.OPEN) {
      socket.terminate();
      return;
    }
    this.upstreamSocket = socket;
    socket.on('message', (data) => {
      let message: { type?: unknown; order?: unknown };
      try {
        message = JSON.parse(data.toString()) as typeof message;
      } catch {
        return;
      }
      if (message.type === 'order.updated' && message.order !== undefined) this.events.emit('order', message.order);
    });
    socket.once('close', (code, reason) => {
      this.upstreamSocket = null;
      this.opening = null;
      if (this.client.readyState === WebSocket.OPEN) this.client.close(sendableCloseCode(code), reason);
    });
    socket.on('error', (error) => {
      this.request.log.warn({ err: error, upstream: this.upstream.name }, 'upstream WebSocket error');
      this.client.terminate();
    });
  }

  /** The upstream socket, or the service's refusal (an answer: it does not count against the breaker). */
  private handshake(): Promise<WebSocket | ServiceProblem> {
    const url = new URL(ORDERS_OPERATIONS.orderEvents.path, this.upstream.url);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const accessToken = this.request.edgeCredentials?.accessToken;
    return new Promise<WebSocket | ServiceProblem>((resolve, reject) => {
      const socket = new WebSocket(url, {
        handshakeTimeout: this.handshakeTimeoutMs,
        perMessageDeflate: false,
        headers: {
          'x-request-id': this.request.id,
          'x-forwarded-for': this.request.ip,
          ...(accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` }),
        },
      });
      socket.once('open', () => resolve(socket));
      // Answered without an upgrade (a 401 or 403 problem): the service's refusal, as for any call.
      socket.once('unexpected-response', (_request, response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () => resolve(refusalOf(response.statusCode ?? 502, Buffer.concat(chunks))));
        response.once('error', reject);
      });
      socket.once('error', reject);
    });
  }
}

function refusalOf(status: number, body: Buffer): ServiceProblem {
  try {
    const problem = JSON.parse(body.toString('utf8')) as { code?: unknown; detail?: unknown };
    if (typeof problem.code === 'string') return new ServiceProblem(problem.code, status, typeof problem.detail === 'string' ? problem.detail : problem.code);
  } catch {
    // Described by its status below.
  }
  return ServiceProblem.of(new AppError('GATEWAY_BAD_UPSTREAM_RESPONSE', 'The orders service refused the socket without a problem'));
}
