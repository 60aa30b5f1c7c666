import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { problemClientErrorHandler } from './client-error';
import { ConnectionDrain } from './connection-drain';
import { problemErrorHandler } from './error-handler';
import { installBodilessResponses } from './bodiless-responses';
import { installRefusedBodyDrain } from './refused-bodies';
import { installHealthRoutes } from './health';
import { installMetrics } from './metrics';
import { refuseNonUtf8Bodies } from './json-charset';
import { loggerOptions } from './logger';
import { recordServedRoutes } from './operations';
import { documentKitBehaviour } from './openapi-document';
import { installNotFoundHandler } from './not-found';
import { sendProblem } from './problem';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id';
import { refuseUnstorableText } from './storable-text';
import { buildValidatorCompiler } from './validation';

export type ServiceInstance = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface ServiceOptions {
  /** Service name, used in logs and the OpenAPI title. */
  name: string;
  version: string;
  description: string;
  logLevel: string;
  /** Fastify's `trustProxy`: which hops may set X-Forwarded-For. */
  trustProxy: boolean | string;
  /** Where logs go; stdout when omitted. Tests pass a stream to read them. */
  logStream?: DestinationStream;
  /** How long the requests in flight when closing begins may take (`SHUTDOWN_GRACE_MS`); 10 s when omitted. */
  shutdownGraceMs?: number;
  /** Per-route request series (`METRICS_ENABLED`); the registry and process series exist either way. Default true. */
  routeMetrics?: boolean;
}

const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** Requests and bodies larger than this are refused with 413 (contract: 1 MiB). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The Fastify instance every service starts from: logging with request ids and redaction,
 * problem+json errors (404/405/413/415 included), strict validation, OpenAPI at
 * `/docs/openapi.json`, `/health` and `/health/ready`, and a shutdown that resets no connection:
 * while it drains, every new request (readiness included) gets a 503 with `Connection: close`.
 * Apps add their own plugins, decorators, hooks and routes on top, in that order.
 */
export async function createService(options: ServiceOptions): Promise<ServiceInstance> {
  const app = Fastify({
    logger: loggerOptions(options.logLevel, options.logStream),
    genReqId: requestIdOf,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    trustProxy: options.trustProxy,
    bodyLimit: BODY_LIMIT_BYTES,
    // Replaced by our own hook below, so that the 503 is a problem+json like every other error.
    return503OnClosing: false,
    // Connections are closed by the drain below, never swept while a request may be arriving on them.
    forceCloseConnections: false,
    routerOptions: { ignoreTrailingSlash: false },
    ajv: { customOptions: { removeAdditional: false } },
    // A URL that cannot be decoded or an over-long path parameter never reaches the error
    // handler on its own: Fastify would answer with its own JSON, without a request id.
    frameworkErrors: (error, request, reply) => problemErrorHandler.call(request.server, error, request, reply),
    // And a request that is not even valid HTTP gets a problem too, not Fastify's own JSON.
    clientErrorHandler: problemClientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // First: every route is recorded (to compare with the operation table) and timed, the kit's own included.
  recordServedRoutes(app);
  const metrics = installMetrics(app, { service: options.name, perRoute: options.routeMetrics ?? true });

  app.setValidatorCompiler(buildValidatorCompiler());
  app.setErrorHandler(problemErrorHandler);
  installNotFoundHandler(app);
  app.addHook('preParsing', refuseNonUtf8Bodies);
  app.addHook('preValidation', refuseUnstorableText);
  installBodilessResponses(app);

  // Only JSON bodies: Fastify's text/plain parser would let other types through.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `${options.name} service`, version: options.version, description: options.description },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    },
    transformObject: (documentObject) => ('openapiObject' in documentObject ? documentKitBehaviour(documentObject.openapiObject) : documentObject.swaggerObject),
  });
  app.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  let closing = false;
  const drain = new ConnectionDrain(app.server);
  // The first preClose hook: the apps' own (stopping consumers and relays) run after the drain,
  // so requests in flight still find everything they need.
  app.addHook('preClose', async () => {
    closing = true;
    await drain.drain({ graceMs: options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS });
  });
  // Hooks that run on every request of every service are callback-style: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    if (!closing) return done();
    reply.header('connection', 'close');
    sendProblem(request, reply, 'SERVICE_SHUTTING_DOWN');
  });
  // A request that was in flight when closing began must close its keep-alive connection too:
  // Node only closes connections that are idle at that moment, and this one would otherwise
  // hold close() open for the whole keep-alive timeout.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (closing && request.raw.httpVersionMajor < 2) reply.header('connection', 'close');
    done(null, payload);
  });
  installRefusedBodyDrain(app, () => closing);

  installHealthRoutes(app, metrics.registry);
  return app;
}
