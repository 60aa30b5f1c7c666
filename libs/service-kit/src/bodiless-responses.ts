import type { FastifyInstance } from 'fastify';

/**
 * 204 and 304 answers carry no content (RFC 9110 §6.4.1), so they carry no framing for one
 * either (§8.6: no Content-Length on a 204; on a 304 only the length a 200 would have had).
 * A route that answers `reply.code(304).send(null)` would otherwise get its `null` serialised:
 * Node drops the four bytes, but `content-length: 4` goes out, and a strict client (undici,
 * hence the gateway) rejects the answer as truncated.
 */
export function installBodilessResponses(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    const status = reply.statusCode;
    if (status !== 204 && status !== 304) return done(null, payload);
    reply.removeHeader('content-length');
    reply.removeHeader('content-type');
    done(null, null);
  });
}
