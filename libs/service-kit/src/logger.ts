import { isTracing, traceLogFields } from '@shop/telemetry';
import type { FastifyRequest } from 'fastify';
import { destination, type DestinationStream, type LoggerOptions } from 'pino';

/** Query parameters that may carry a credential (e.g. a WebSocket's `access_token`). */
const SECRET_QUERY_PARAMS = /([?&](?:access_token|refresh_token|token|api_key|apikey|key)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  // Most URLs have no query at all: skip the expression for them (this runs on every access-log line).
  return url.includes('=') ? url.replace(SECRET_QUERY_PARAMS, '$1[redacted]') : url;
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
/** Lines are written when this much is buffered, or at the latest after STDOUT_FLUSH_MS. */
const STDOUT_BUFFER_BYTES = 4_096;
const STDOUT_FLUSH_MS = 250;

/**
 * Standard output, buffered and written asynchronously (as nginx's `access_log buffer= flush=`):
 * a busy service makes one write per 4 KiB of lines rather than one per line (a syscall per
 * access-log line was a measurable share of the gateway's work), and a quiet one still shows
 * its lines within a quarter of a second. pino writes what is buffered synchronously when the
 * process exits; a SIGKILL can lose the last quarter second of lines.
 * One stream per process, however many services it builds (tests build many).
 */
function bufferedStdout(): DestinationStream {
  if (stdout === undefined) {
    const stream = destination({ dest: 1, sync: false, minLength: STDOUT_BUFFER_BYTES });
    setInterval(() => {
      try {
        stream.flush();
      } catch {
        // Only a destroyed stream throws here (stdout closed under us): nothing left to write to.
      }
    }, STDOUT_FLUSH_MS).unref();
    stdout = stream;
  }
  return stdout;
}

/**
 * pino options for every service: the request id on every line (Fastify's child logger),
 * credentials redacted wherever they might be logged, URLs stripped of token parameters. With
 * tracing on, the active span's `trace_id` and `span_id` too, so a log line leads to its trace;
 * with it off there is no mixin at all, so no line pays for the lookup.
 */
export function loggerOptions(level: string, stream?: DestinationStream): LoggerOptions & { stream: DestinationStream } {
  return {
    level,
    stream: stream ?? bufferedStdout(),
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(isTracing() ? { mixin: traceLogFields } : {}),
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
