import type { FastifyInstance } from 'fastify';

/** The routes Mercurius serves GraphiQL on: its page and the scripts that page loads from the gateway. */
const GRAPHIQL_ROUTES: ReadonlySet<string> = new Set(['/graphiql', '/graphiql/config.js', '/graphiql/main.js', '/graphiql/sw.js']);

/** Where Mercurius' GraphiQL (static/main.js, sw.js) loads React, GraphiQL and its stylesheet from. */
export const GRAPHIQL_CDN_ORIGIN = 'https://unpkg.com';

/**
 * The page's one inline `<style>` (static/graphiql.html), allowed by its hash rather than by
 * 'unsafe-inline'. A Mercurius upgrade that changes it fails the GraphiQL test, which hashes the page.
 */
const GRAPHIQL_INLINE_STYLE_HASH = "'sha256-hkWEFILcv3lNVVm4JwXqfxOiao3NA2GmXVQ1BoHCS9E='";

/**
 * GraphiQL's own Content-Security-Policy, instead of the API's `default-src 'none'`, which would
 * block it: its scripts and stylesheet from the gateway and the CDN; its queries to the gateway,
 * subscriptions included ('self' matches the same origin's ws:/wss: in CSP Level 3); and the CDN
 * for connect-src because its service worker (sw.js, governed by this policy too) fetches the CDN
 * files to cache them. Nothing else may load, and no one may frame it.
 */
export const GRAPHIQL_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'self' ${GRAPHIQL_CDN_ORIGIN}`,
  `style-src ${GRAPHIQL_INLINE_STYLE_HASH} ${GRAPHIQL_CDN_ORIGIN}`,
  `connect-src 'self' ${GRAPHIQL_CDN_ORIGIN}`,
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * GraphiQL's routes get its policy; every other response keeps the API's. Set on the reply, so it
 * replaces the strict header the security-headers hook put on the raw response.
 */
export function installGraphiqlPolicy(app: FastifyInstance): void {
  // Runs on every request: callback-style, so that the others cost no promise.
  app.addHook('onRequest', (request, reply, done) => {
    if (GRAPHIQL_ROUTES.has(request.routeOptions.url ?? '')) reply.header('content-security-policy', GRAPHIQL_CONTENT_SECURITY_POLICY);
    done();
  });
}
