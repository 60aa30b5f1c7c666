import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import type { OpenApiSource } from '../../docs/openapi-source';

const DOCUMENT_ROUTE = '/docs/openapi.json';

/**
 * `/docs` (Swagger UI) and `/docs/openapi.json`, both serving the assembled document of the
 * whole public API. The kit already routes `/docs/openapi.json` to the gateway's own (nearly
 * empty) document, so a hook answers that route first with the assembled one.
 * Swagger UI sets its own Content-Security-Policy on its pages (`staticCSP`): helmet's strict
 * API policy would block its scripts and styles.
 */
export async function installDocs(app: FastifyInstance, source: OpenApiSource, limiter: onRequestAsyncHookHandler): Promise<void> {
  // Runs on every request: callback-style, so that the others cost no promise.
  app.addHook('onRequest', function (request, reply, done) {
    if (request.routeOptions.url !== DOCUMENT_ROUTE) return done();
    limiter
      .call(this, request, reply)
      .then(async () => {
        if (reply.sent) return;
        reply.header('cache-control', 'no-cache').send(await source.current());
      })
      .catch(done);
  });

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformSpecification: () => source.snapshot,
    transformSpecificationClone: false,
    uiConfig: { deepLinking: true, displayOperationId: true },
    uiHooks: {
      onRequest: async function (request, reply) {
        await limiter.call(this, request, reply);
        // Swagger UI reads the document synchronously: make sure it is fresh first.
        if (request.url.startsWith('/docs/json') || request.url.startsWith('/docs/yaml')) await source.current();
      },
    },
  });
}
