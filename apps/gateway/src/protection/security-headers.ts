import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/**
 * Helmet's security headers on every response. The API answers JSON only: nothing on it may
 * load, run or frame anything (Swagger UI's pages and GraphiQL's set their own policy, which wins).
 *
 * helmet's middleware is built once here and run on the raw response; @fastify/helmet would
 * build it anew for every request, which cost the gateway more than the rest of its headers.
 */
export function installSecurityHeaders(app: FastifyInstance): void {
  const secure = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  });
  app.addHook('onRequest', (request, reply, done) => {
    secure(request.raw, reply.raw, (error?: unknown) => done(error instanceof Error ? error : undefined));
  });
}
