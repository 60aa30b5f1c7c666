import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { OperationAccess, OperationSchema, PublicOperation } from '@shop/contracts';
import type {
  ContextConfigDefault,
  FastifyInstance,
  FastifyRequest,
  onRequestAsyncHookHandler,
  preValidationHookHandler,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
  RouteHandlerMethod,
  RouteShorthandOptions,
} from 'fastify';
import type { ServiceInstance } from './create-service';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The operation of the contracts' operation table this route serves. */
    operationId?: string;
  }
}

type ShorthandOf<S extends OperationSchema> = RouteShorthandOptions<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  RouteGenericInterface,
  ContextConfigDefault,
  S,
  TypeBoxTypeProvider
>;
type HandlerOf<S extends OperationSchema> = RouteHandlerMethod<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  RouteGenericInterface,
  ContextConfigDefault,
  S,
  TypeBoxTypeProvider
>;

/**
 * What a service adds to a declared operation: its handler and the hooks of its own. Request
 * and reply are typed by the operation's schemas. A WebSocket operation has a `wsHandler`,
 * called with the socket once the upgrade is accepted.
 */
export type OperationRoute<S extends OperationSchema> = Pick<ShorthandOf<S>, 'onRequest' | 'preValidation' | 'preHandler'> &
  ({ handler: HandlerOf<S> } | { wsHandler(socket: unknown, request: FastifyRequest): void });

/** Handlers keyed by operationId; each plugin registers the operations of its resource. */
export type OperationRoutes<Operations extends Readonly<Record<string, PublicOperation>>> = {
  readonly [Id in keyof Operations]?: OperationRoute<Operations[Id]['schema']>;
};

/** A service that verifies tokens: it can turn an operation's declared access into a hook. */
export interface AccessControl {
  requireAccess(access: OperationAccess): onRequestAsyncHookHandler | null;
}

/** The Fastify route schema of an operation: validation and serialisation, and the service's own document. */
export function routeSchemaOf(operation: PublicOperation): Record<string, unknown> {
  const { params, querystring, headers, body, response } = operation.schema;
  return {
    operationId: operation.operationId,
    tags: [...operation.tags],
    summary: operation.summary,
    ...(operation.description === undefined ? {} : { description: operation.description }),
    ...(operation.access.caller === 'anyone' ? {} : { security: [{ bearerAuth: [] }] }),
    ...(params ? { params } : {}),
    ...(querystring ? { querystring } : {}),
    ...(headers ? { headers } : {}),
    ...(body ? { body } : {}),
    response,
  };
}

// An absent body is the empty object, so that the schema still refuses any field sent.
const emptyBodyWhenAbsent: preValidationHookHandler = (request, _reply, done) => {
  request.body ??= {};
  done();
};

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * Registers a service's handlers against the operation table: method, path, schemas and
 * documentation come from the operation, and so does who may call it (`requireAccess` runs after
 * the route's own onRequest hooks, which may establish the caller, as a WebSocket's
 * `access_token` does). The route's config carries its operationId.
 */
export function registerOperations<Operations extends Readonly<Record<string, PublicOperation>>>(
  app: ServiceInstance & AccessControl,
  operations: Operations,
  routes: OperationRoutes<Operations>,
): void {
  for (const [operationId, route] of Object.entries(routes) as [string, OperationRoute<OperationSchema>][]) {
    const operation = operations[operationId];
    if (operation === undefined) throw new Error(`${operationId} is not a declared operation`);
    const guard = app.requireAccess(operation.access);
    const onRequest = [...asArray(route.onRequest), ...(guard ? [guard] : [])];
    const preValidation = [...(operation.bodyOptional ? [emptyBodyWhenAbsent] : []), ...asArray(route.preValidation)];
    const preHandler = asArray(route.preHandler);
    if (operation.websocket !== ('wsHandler' in route)) throw new Error(`${operationId}: a WebSocket operation takes a wsHandler, any other a handler`);
    const handler = 'wsHandler' in route ? route.wsHandler : route.handler;
    app.route({
      method: operation.method,
      url: operation.path,
      schema: routeSchemaOf(operation),
      config: { operationId },
      ...(onRequest.length > 0 ? { onRequest } : {}),
      ...(preValidation.length > 0 ? { preValidation } : {}),
      ...(preHandler.length > 0 ? { preHandler } : {}),
      ...(operation.websocket ? { websocket: true } : {}),
      handler,
    } as Parameters<typeof app.route>[0]);
  }
}

export interface ServedRoute {
  method: string;
  url: string;
  /** Set on routes registered from the operation table. */
  operationId: string | undefined;
}

const servedRoutes = new WeakMap<FastifyInstance, ServedRoute[]>();

/** Remembers every route added to `app` from now on (`createService` calls it first thing). */
export function recordServedRoutes(app: FastifyInstance): void {
  const routes: ServedRoute[] = [];
  servedRoutes.set(app, routes);
  app.addHook('onRoute', (route) => {
    const operationId = route.config?.operationId;
    for (const method of asArray(route.method)) routes.push({ method, url: route.url, operationId });
  });
}

/**
 * Routes that are not part of the public API, by rule: internal routes (`/internal/*`, never
 * routed by the gateway), the kit's probes and documents (`/health`, `/docs`), and the HEAD and
 * OPTIONS routes Fastify and CORS add beside the declared ones.
 */
export function isOutsideOperationTable(method: string, url: string): boolean {
  if (method === 'HEAD' || method === 'OPTIONS' || url === '*') return true;
  return url.startsWith('/internal/') || url === '/health' || url.startsWith('/health/') || url === '/docs' || url.startsWith('/docs/');
}

export interface OperationCoverage {
  /** Public routes served that the table does not declare. */
  undeclared: string[];
  /** Declared operations that are not served. */
  unserved: string[];
  /** Declared routes served without their operationId (registered by hand, not from the table). */
  unregistered: string[];
}

/** How the routes `app` serves compare with the operations it should serve: all three empty when they match. */
export function operationCoverage(app: FastifyInstance, operations: Readonly<Record<string, PublicOperation>>): OperationCoverage {
  const served = servedRoutes.get(app);
  if (served === undefined) throw new Error('this instance does not record its routes (build it with createService)');
  const key = (method: string, url: string) => `${method} ${url}`;
  const declared = new Map(Object.values(operations).map((operation) => [key(operation.method, operation.path), operation.operationId]));
  const publicRoutes = served.filter((route) => !isOutsideOperationTable(route.method, route.url));
  const servedKeys = new Set(publicRoutes.map((route) => key(route.method, route.url)));
  return {
    undeclared: publicRoutes.map((route) => key(route.method, route.url)).filter((route) => !declared.has(route)).sort(),
    unserved: [...declared.keys()].filter((route) => !servedKeys.has(route)).sort(),
    unregistered: publicRoutes
      .filter((route) => declared.has(key(route.method, route.url)) && declared.get(key(route.method, route.url)) !== route.operationId)
      .map((route) => key(route.method, route.url))
      .sort(),
  };
}
