import { sendProblem } from '@shop/service-kit';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { FastifyInstance } from 'fastify';

/** Routes the kit registers before the gateway can watch (`createService`). */
const KIT_ROUTES: [HTTPMethod[], string][] = [
  [['GET', 'HEAD'], '/health'],
  [['GET', 'HEAD'], '/health/ready'],
  [['GET', 'HEAD'], '/docs/openapi.json'],
];

/**
 * 404 for unknown paths, 405 with `Allow` for a wrong method, decided from the gateway's own
 * routes. The kit's not-found handler cannot decide here: @fastify/cors answers preflights
 * through an `OPTIONS *` route, which makes every path look known (it would answer 405 "Allow:
 * OPTIONS" for any unknown path). This map learns every route except that one.
 *
 * Call right after `createService`, before any plugin adds routes. The hooks run on every
 * request, so they are callback-style and return at once when they have nothing to do.
 */
export function installEdgeRouting(app: FastifyInstance) {
  const known = FindMyWay({ ignoreTrailingSlash: false, ignoreDuplicateSlashes: false });
  const methods = new Set<HTTPMethod>();
  const learn = (routeMethods: HTTPMethod[], url: string) => {
    for (const method of routeMethods) {
      methods.add(method);
      if (known.find(method, url) === null) known.on(method, url, () => undefined);
    }
  };
  for (const [routeMethods, url] of KIT_ROUTES) learn(routeMethods, url);
  app.addHook('onRoute', (route) => {
    if (route.url === '*') return;
    learn((Array.isArray(route.method) ? route.method : [route.method]) as HTTPMethod[], route.url);
  });

  const allowedMethods = (path: string) => [...methods].filter((method) => method !== 'OPTIONS' && known.find(method, path) !== null).sort();
  const pathOf = (url: string) => url.split('?')[0] ?? '/';

  return {
    /**
     * OPTIONS that CORS will not answer: a path that does not exist is a 404; a plain OPTIONS (or
     * one from an origin that is not allowed) learns the path's methods, and nothing about CORS.
     */
    beforeCors: (isAllowedOrigin: (origin: string) => boolean) =>
      app.addHook('onRequest', (request, reply, done) => {
        if (request.method !== 'OPTIONS') return done();
        const path = pathOf(request.url);
        const allowed = allowedMethods(path);
        if (allowed.length === 0) return void sendProblem(request, reply, 'ROUTE_NOT_FOUND', `No route for OPTIONS ${path}`);
        const origin = request.headers.origin;
        const preflight = origin !== undefined && request.headers['access-control-request-method'] !== undefined;
        if (!preflight || !isAllowedOrigin(origin)) {
          return void reply.code(204).header('allow', [...allowed, 'OPTIONS'].join(', ')).send();
        }
        done();
      }),
    /** After CORS, so that a browser can read these problems too. */
    afterCors: () =>
      app.addHook('onRequest', (request, reply, done) => {
        if (!request.is404) return done();
        const path = pathOf(request.url);
        const allowed = allowedMethods(path);
        if (allowed.length > 0) {
          reply.header('allow', allowed.join(', '));
          return void sendProblem(request, reply, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; use ${allowed.join(', ')}`);
        }
        sendProblem(request, reply, 'ROUTE_NOT_FOUND', `No route for ${request.method} ${path}`);
      }),
  };
}
