import type { FastifyRequest } from 'fastify';
import { destination, type DestinationStream, type LoggerOptions } from 'pino';

/** Query parameters that may carry a credential (e.g. a WebSocket's `access_token`). */
const SECRET_QUERY_PARAMS = /([?&](?:access_token|refresh_token|token|api_key|apikey|key)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMS, '$1[redacted]');
}

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.accessToken',
  '*.refreshToken',
  '*.key',
];

let stdout: DestinationStream | undefined;

/**
 * Standard output, written asynchronously: lines logged while a write is under way go out
 * together in the next one, so a busy service makes one write per batch rather than per line
 * (a syscall per access-log line was a measurable share of the gateway's work). pino flushes
 * what is pending synchronously when the process exits; a SIGKILL can lose the last batch.
 * One stream per process, however many services it builds (tests build many).
 */
function asyncStdout(): DestinationStream {
  stdout ??= destination({ dest: 1, sync: false });
  return stdout;
}

/**
 * pino options for every service: the request id on every line (Fastify's child logger),
 * credentials redacted wherever they might be logged, URLs stripped of token parameters.
 */
export function loggerOptions(level: string, stream?: DestinationStream): LoggerOptions & { stream: DestinationStream } {
  return {
    level,
    stream: stream ?? asyncStdout(),
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      req(request: FastifyRequest) {
        return {
          method: request.method,
          url: redactUrl(request.url),
          remoteAddress: request.ip,
          headers: request.headers,
        };
      },
    },
  };
}
