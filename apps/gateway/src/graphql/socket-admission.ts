import { AppError, isAppError } from '@shop/service-kit';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { SocketLease } from '../protection/socket-limits';

/** graphql-transport-ws close codes for a connection refused at `connection_init`. */
const CLOSE_CODE_OF_STATUS: Record<number, number> = { 400: 4400, 401: 4401, 403: 4403, 429: 4429 };
/** The protocol's own: no `connection_init` in time. */
const INIT_TIMEOUT_CLOSE_CODE = 4408;
/** "Try again later" (RFC 6455): the edge could not decide (keys or Redis unavailable). */
const TRY_AGAIN_LATER = 1013;

export interface SocketAdmissionOptions {
  /** Verifies the credentials now on `request` (from the payload), as the edge does for any request; throws an AppError. */
  admit: (request: FastifyRequest) => Promise<void>;
  /** Takes a place among the user's and the address's open sockets; throws 429 GATEWAY_TOO_MANY_SOCKETS. */
  acquireSocket: (userId: string, address: string) => Promise<SocketLease>;
  initTimeoutMs: number;
}

/**
 * Admission of GraphQL WebSockets at `connection_init`, in two steps around Mercurius:
 * `watch` sees each new socket before Mercurius does (the WebSocket server's `connection`
 * event), keeps its first message's payload, and closes it (4401) when that message is not
 * `connection_init`, or (4408) when none comes in time; `admit` runs while Mercurius builds the
 * connection's context, before it acknowledges: the payload's `authorization` (`Bearer ...`) or
 * `x-api-key` is verified exactly like a REST request's header, and the connection takes a place
 * under the REST WebSocket's per-user and per-address caps. A refusal closes the socket with the
 * graphql-transport-ws code for its status (4401, 4403, 4429) and the problem's code as the
 * reason, before anything is acknowledged.
 */
export class SocketAdmission {
  private readonly initPayloads = new WeakMap<WebSocket, Record<string, unknown>>();

  constructor(private readonly options: SocketAdmissionOptions) {}

  watch(socket: WebSocket): void {
    const timer = setTimeout(() => socket.close(INIT_TIMEOUT_CLOSE_CODE, 'Connection initialisation timeout'), this.options.initTimeoutMs);
    socket.once('close', () => clearTimeout(timer));
    socket.once('message', (data) => {
      clearTimeout(timer);
      let message: { type?: unknown; payload?: unknown } | null;
      try {
        message = JSON.parse(data.toString()) as typeof message;
      } catch {
        message = null;
      }
      if (message?.type !== 'connection_init') return socket.close(4401, 'Unauthorized: send connection_init first');
      const payload = message.payload;
      this.initPayloads.set(socket, payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>) : {});
    });
  }

  /** Whether the connection may go on; when not, the socket is already closing with the reason. */
  async admit(socket: WebSocket, request: FastifyRequest): Promise<boolean> {
    const payload = this.initPayloads.get(socket) ?? {};
    let lease: SocketLease;
    try {
      // The payload stands for the headers a browser cannot set on a WebSocket.
      for (const header of ['authorization', 'x-api-key'] as const) {
        const value = payload[header];
        if (value !== undefined && request.headers[header] === undefined) request.headers[header] = typeof value === 'string' ? value : '';
      }
      await this.options.admit(request);
      if (!request.principal) throw new AppError('AUTH_TOKEN_MISSING', 'Send "authorization": "Bearer <token>" in the connection_init payload');
      lease = await this.options.acquireSocket(request.principal.userId, request.ip);
    } catch (error) {
      if (!isAppError(error)) request.log.error({ err: error }, 'GraphQL WebSocket admission failed');
      const status = isAppError(error) ? error.statusCode : 500;
      socket.close(CLOSE_CODE_OF_STATUS[status] ?? (status >= 500 ? TRY_AGAIN_LATER : 4400), isAppError(error) ? error.code : 'INTERNAL_ERROR');
      return false;
    }
    if (socket.readyState !== socket.OPEN) {
      lease.release();
      return false;
    }
    socket.once('close', () => lease.release());
    return true;
  }
}
