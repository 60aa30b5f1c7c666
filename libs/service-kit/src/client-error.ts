import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCodes, PROBLEM_CONTENT_TYPE, problemTypeOf, type ErrorCode } from '@shop/contracts';
import type { FastifyInstance } from 'fastify';

const CODE_OF: Record<string, ErrorCode> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'REQUEST_HEADERS_TOO_LARGE',
};

/**
 * A request Node's parser refuses (a NUL or a bare CR in a header, a broken request line, headers
 * too large) never becomes a Fastify request, so neither the error handler nor a request id ever
 * sees it. Fastify's default answer is its own JSON; this one is the problem+json every other
 * error is, with a request id of its own, and the connection is closed as Node would.
 */
export function problemClientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has no one left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code = CODE_OF[error.code ?? ''] ?? 'REQUEST_MALFORMED';
  const { status, title } = ErrorCodes[code];
  const requestId = randomUUID();
  const body = JSON.stringify({ type: problemTypeOf(code), title, status, code, requestId });
  this.log.info({ err: { code: error.code, message: error.message }, requestId }, 'refused a request that is not valid HTTP');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
