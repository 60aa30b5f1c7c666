import type { FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { AppError, isAppError } from '@shop/service-kit';
import type { SocketLease } from '../protection/socket-limits';

/** graphql-transport-ws close codes for a connection refused at `connection_init`. */
const CLOSE_CODE_OF_STATUS: Record<number, number> = { 400: 4400, 401: 4401, 403: 4403, 429: 4429 };
/** The protocol's own: no `connection_init` in time. */
const INIT_TIMEOUT_CLOSE_CODE = 4408;
/** "Try again later" (RFC 6455): the edge could not decide (keys or Redis unavailable). */
const TRY_AGAIN_LATER = 1013;

export type WebSocketHandler = (socket: WebSocket, request: FastifyRequest) => unknown;

export interface SocketAdmissionOptions {
  /** Verifies the credentials now on `request` (from the payload), as the edge does for any request; throws an AppError. */
  admit: (request: FastifyRequest) => Promise<void>;
  /** Takes a place among the user's and the address's open sockets; throws 429 GATEWAY_TOO_MANY_SOCKETS. */
  acquireSocket: (userId: string, address: string) => Promise<SocketLease>;
  initTimeoutMs: number;
}

/**
 * Wraps Mercurius's WebSocket handler so that nothing reaches GraphQL before the connection is
 * admitted: the first message must be `connection_init`, its payload's `authorization`
 * (`Bearer ...`) is verified exactly like the Authorization header of a REST request (an API key
 * as `x-api-key` too), and the connection takes a place under the same per-user and per-address
 * caps as the REST WebSocket. A refusal closes the socket with the graphql-transport-ws code for
 * its status (4401, 4403, 4429) and the problem's code as the reason; nothing was acknowledged.
 * Messages that arrive meanwhile are held and handed over in order once admitted.
 */
export function admittingConnectionInit(handler: WebSocketHandler, options: SocketAdmissionOptions): WebSocketHandler {
  return (socket, request) => {
    const held: [RawData, boolean][] = [];
    let settled = false;
    const hold = (data: RawData, isBinary: boolean) => {
      held.push([data, isBinary]);
      if (held.length === 1) void admitFirst(data);
    };
    const refuse = (code: number, reason: string) => {
      settled = true;
      clearTimeout(timer);
      socket.off('message', hold);
      socket.close(code, reason);
    };
    const timer = setTimeout(() => refuse(INIT_TIMEOUT_CLOSE_CODE, 'Connection initialisation timeout'), options.initTimeoutMs);
    socket.on('message', hold);
    socket.once('close', () => clearTimeout(timer));

    const admitFirst = async (data: RawData) => {
      let payload: Record<string, unknown> = {};
      try {
        const message = JSON.parse(data.toString()) as { type?: unknown; payload?: unknown };
        if (message.type !== 'connection_init') return refuse(4401, 'Unauthorized: send connection_init first');
        if (message.payload !== null && typeof message.payload === 'object') payload = message.payload as Record<string, unknown>;
      } catch {
        return refuse(4400, 'The message is not JSON');
      }
      let lease: SocketLease;
      try {
        // The payload stands for the headers a browser cannot set on a WebSocket.
        for (const header of ['authorization', 'x-api-key'] as const) {
          const value = payload[header];
          if (value !== undefined && request.headers[header] === undefined) request.headers[header] = typeof value === 'string' ? value : '';
        }
        await options.admit(request);
        if (!request.principal) throw new AppError('AUTH_TOKEN_MISSING', 'Send "authorization": "Bearer <token>" in the connection_init payload');
        lease = await options.acquireSocket(request.principal.userId, request.ip);
      } catch (error) {
        if (settled) return;
        if (!isAppError(error)) request.log.error({ err: error }, 'GraphQL WebSocket admission failed');
        const status = isAppError(error) ? error.statusCode : 500;
        return refuse(CLOSE_CODE_OF_STATUS[status] ?? (status >= 500 ? TRY_AGAIN_LATER : 4400), isAppError(error) ? error.code : 'INTERNAL_ERROR');
      }
      if (settled) return lease.release();
      settled = true;
      clearTimeout(timer);
      socket.once('close', () => lease.release());
      if (socket.readyState !== socket.OPEN) return lease.release();
      socket.off('message', hold);
      handler(socket, request);
      // The handler listens from its first synchronous step: what was held reaches it in order.
      for (const [message, isBinary] of held) socket.emit('message', message, isBinary);
    };
  };
}
