import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import type { OpenApiDocument } from '../../docs/openapi-document';

const DOCUMENT_ROUTE = '/docs/openapi.json';

/**
 * `/docs` (Swagger UI) and `/docs/openapi.json`, both serving the document of the whole public
 * API, built once at start-up. The kit already routes `/docs/openapi.json` to the gateway's own
 * (nearly empty) document, so a hook answers that route first with the whole one.
 * Swagger UI sets its own Content-Security-Policy on its pages (`staticCSP`): helmet's strict
 * API policy would block its scripts and styles.
 */
export async function installDocs(app: FastifyInstance, document: OpenApiDocument, limiter: onRequestAsyncHookHandler): Promise<void> {
  // Runs on every request: callback-style, so that the others cost no promise.
  app.addHook('onRequest', function (request, reply, done) {
    if (request.routeOptions.url !== DOCUMENT_ROUTE) return done();
    limiter
      .call(this, request, reply)
      .then(() => {
        if (!reply.sent) reply.header('cache-control', 'no-cache').send(document);
      })
      .catch(done);
  });

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformSpecification: () => document,
    transformSpecificationClone: false,
    uiConfig: { deepLinking: true, displayOperationId: true },
    uiHooks: {
      onRequest: async function (request, reply) {
        await limiter.call(this, request, reply);
      },
    },
  });
}
