import { redactUrl } from '@shop/service-kit';
import type { FastifyInstance } from 'fastify';
import type { LevelWithSilent } from 'pino';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the proxy: which upstream answered, how long it took, after how many attempts. */
    upstreamTiming: { upstream: string; ms: number; attempts: number } | null;
    /** The W3C trace id the request travels under. */
    traceId: string | null;
  }
  interface FastifyContextConfig {
    /** The route writes one access-log line itself (its request logging is turned down to warn). */
    accessLog?: boolean;
  }
}

const SEVERITY: LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * The log level of a route that writes its own access line: Fastify's per-request info lines
 * are silenced, warnings stay, and a stricter configured level (error, silent) still wins.
 */
export function accessLoggedRouteLevel(configured: string): LevelWithSilent {
  const level = configured as LevelWithSilent;
  return SEVERITY.indexOf(level) > SEVERITY.indexOf('warn') ? level : 'warn';
}

/**
 * One line per proxied request, written when the response is sent: status, total time, and the
 * upstream's share of it. The routes that log this way set `logLevel: 'warn'` so Fastify's own
 * "incoming request" / "request completed" pair stays quiet; tokens in the URL are redacted.
 */
export function installAccessLog(app: FastifyInstance): void {
  app.decorateRequest('upstreamTiming', null);
  app.decorateRequest('traceId', null);
  const enabled = ['trace', 'debug', 'info'].includes(app.log.level);
  // The line is built field by field from values that carry no credential (redactUrl strips
  // token parameters from the URL), so the kit's redaction, which walks every line for secrets
  // and was half the cost of writing this one, has nothing to do here.
  const accessLog = app.log.child({}, { redact: [] });
  app.addHook('onResponse', (request, reply, done) => {
    if (enabled && request.routeOptions.config.accessLog === true) {
      const timing = request.upstreamTiming;
      accessLog.info(
        {
          requestId: request.id,
          traceId: request.traceId ?? undefined,
          method: request.method,
          url: redactUrl(request.url),
          route: request.routeOptions.url,
          statusCode: reply.statusCode,
          responseTimeMs: Math.round(reply.elapsedTime * 10) / 10,
          ...(timing ? { upstream: timing.upstream, upstreamMs: Math.round(timing.ms * 10) / 10, attempts: timing.attempts } : {}),
          principal: request.principal?.userId,
          remoteAddress: request.ip,
        },
        'request completed',
      );
    }
    done();
  });
}
