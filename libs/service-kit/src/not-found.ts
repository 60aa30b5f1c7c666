import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from './problem';

/**
 * Unknown path → 404; known path, wrong method → 405 with `Allow`. Fastify itself answers 404
 * for both, so a shadow router learns every route's path as it is added, and the not-found
 * handler asks it which methods the path does accept.
 */
export function installNotFoundHandler(app: FastifyInstance): void {
  const shadow = FindMyWay({ ignoreTrailingSlash: false, ignoreDuplicateSlashes: false });
  const methods = new Set<string>();

  app.addHook('onRoute', (route) => {
    const routeMethods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of routeMethods) {
      methods.add(method);
      const already = shadow.find(method as HTTPMethod, route.url) !== null;
      if (!already) shadow.on(method as HTTPMethod, route.url, () => undefined);
    }
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = [...methods].filter((method) => shadow.find(method as HTTPMethod, path) !== null).sort();
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(request, reply, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; use ${allowed.join(', ')}`);
    }
    return sendProblem(request, reply, 'ROUTE_NOT_FOUND', `No route for ${request.method} ${path}`);
  });
}
