import type { IncomingMessage } from 'node:http';
import { Access, PROBLEM_CONTENT_TYPE, type Problem, type PublicOperation, type UpstreamName } from '@shop/contracts';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { NoSchemaIntrospectionCustomRule, printSchema, type DocumentNode, type ExecutionResult, type GraphQLError, type GraphQLSchema } from 'graphql';
import mercurius, { type MercuriusContext } from 'mercurius';
import type { WebSocket } from 'ws';
import type { GatewayConfig } from '../config';
import type { EdgeIdentity } from '../identity/edge-identity';
import { accessLoggedRouteLevel } from '../observability/access-log';
import { limiterOf, type RateLimiters } from '../protection/rate-limits';
import type { SocketLimits } from '../protection/socket-limits';
import type { Upstream } from '../upstream/upstream';
import { DocumentCheck } from './document-check';
import { installGraphiqlPolicy } from './graphiql-policy';
import { asGraphqlError, formatExecution, graphqlResponseOfProblem, sendRefusal } from './graphql-errors';
import { loaders } from './loaders';
import { OrderFeed } from './order-feed';
import { QueryLimits, type QueryLimitSettings } from './query-limits';
import { resolvers, type GraphqlContext } from './resolvers';
import { SCHEMA_SDL } from './schema';
import { ServiceCalls, type ServiceCallsSettings } from './service-calls';
import { SocketAdmission } from './socket-admission';

export interface GraphqlOptions {
  upstreams: Record<UpstreamName, Upstream>;
  identity: EdgeIdentity;
  limiters: RateLimiters;
  socketLimits: SocketLimits;
  config: GatewayConfig;
}

export const GRAPHQL_PATH = '/graphql';
/** Parsing stops here: a document this long is refused before validation can cost anything. */
const MAX_TOKENS = 5_000;
/** graphql-transport-ws: a connection that has not sent `connection_init` by then is closed (4408). */
const CONNECTION_INIT_TIMEOUT_MS = 10_000;

/**
 * GraphQL as the edge sees it: one gateway operation (not in the REST table: it has no OpenAPI
 * shape), open to anyone (each field's own operation says who may call it), rate limited as REST.
 */
const GRAPHQL_OPERATION: PublicOperation = {
  operationId: 'graphql',
  service: 'gateway',
  method: 'POST',
  path: GRAPHQL_PATH,
  tags: [],
  summary: 'The public API as GraphQL',
  description: undefined,
  access: Access.anyone,
  rateLimit: 'default',
  timeout: 'default',
  retry: 'with-idempotency-key',
  websocket: false,
  bodyOptional: false,
  schema: { response: {} },
};
/** A WebSocket must be signed in: its only operation is the caller's own order updates. */
const GRAPHQL_SOCKET_OPERATION: PublicOperation = { ...GRAPHQL_OPERATION, method: 'GET', access: Access.signedIn };

type ExecutionContext = MercuriusContext & GraphqlContext;

function operationNameOf(request: FastifyRequest): string | undefined {
  const source = (request.method === 'GET' ? request.query : request.body) as { operationName?: unknown } | undefined;
  return typeof source?.operationName === 'string' ? source.operationName : undefined;
}

/**
 * GraphQL at `/graphql` (Mercurius): POST and GET, subscriptions over graphql-transport-ws on the
 * same path, the schema at `/graphql/schema.graphql`, GraphiQL at `/graphiql` when enabled (with
 * its own Content-Security-Policy: graphiql-policy.ts). The
 * edge treats it as any public route: identity (401 for bad credentials), the shared rate limit,
 * the access log. Before anything runs, a query is held to its limits (depth, cost, aliases,
 * list sizes); a costly one counts as more than one request against the caller's rate limit.
 */
const graphqlPlugin: FastifyPluginAsync<GraphqlOptions> = async (app, { upstreams, identity, limiters, socketLimits, config }) => {
  const limits: QueryLimitSettings = { maxDepth: config.GRAPHQL_MAX_DEPTH, maxCost: config.GRAPHQL_MAX_COST, maxAliases: config.GRAPHQL_MAX_ALIASES };
  const callSettings: ServiceCallsSettings = {
    upstreams,
    timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    longTimeoutMs: config.UPSTREAM_LONG_TIMEOUT_MS,
  };

  if (config.GRAPHQL_GRAPHIQL) installGraphiqlPolicy(app);
  app.addHook('onRequest', identity.identify(GRAPHQL_OPERATION));
  app.addHook('onRequest', limiterOf(limiters, GRAPHQL_OPERATION));
  app.addHook('onRequest', identity.authenticate(GRAPHQL_OPERATION));
  // Problems the platform sends before GraphQL is reached (text that cannot be stored, a shutdown) in GraphQL's shape.
  // Callback-style hooks here and below: they run on every request, and most return at once.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.routeOptions.url !== GRAPHQL_PATH || typeof payload !== 'string') return done(null, payload);
    if (!String(reply.getHeader('content-type') ?? '').startsWith(PROBLEM_CONTENT_TYPE)) return done(null, payload);
    reply.type('application/json; charset=utf-8');
    done(null, JSON.stringify(graphqlResponseOfProblem(JSON.parse(payload) as Problem)));
  });
  const documents = new DocumentCheck(MAX_TOKENS);
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.routeOptions.url !== GRAPHQL_PATH || request.ws) return done();
    const part = request.method === 'GET' ? 'querystring' : 'body';
    try {
      documents.check(((part === 'querystring' ? request.query : request.body) as { query?: unknown } | undefined)?.query, operationNameOf(request), part);
    } catch (error) {
      return done(error as Error);
    }
    done();
  });
  const admission = new SocketAdmission({
    admit: (request) => identity.admit(request, GRAPHQL_SOCKET_OPERATION),
    acquireSocket: (userId, address) => socketLimits.acquire(userId, address),
    initTimeoutMs: CONNECTION_INIT_TIMEOUT_MS,
  });
  // Emitted for each upgraded socket before its route's handler (Mercurius) listens to it.
  const watchGraphqlSockets = (socket: WebSocket, raw: IncomingMessage) => {
    if (raw.url?.split('?')[0] === GRAPHQL_PATH) admission.watch(socket);
  };
  app.websocketServer.on('connection', watchGraphqlSockets);
  app.addHook('onClose', async () => void app.websocketServer.off('connection', watchGraphqlSockets));

  await app.register(mercurius, {
    schema: SCHEMA_SDL,
    resolvers: resolvers as never,
    loaders: loaders as never,
    path: GRAPHQL_PATH,
    graphiql: config.GRAPHQL_GRAPHIQL,
    // One operation per request: a batch would multiply the cost a request may carry.
    allowBatchedQueries: false,
    validationRules: config.GRAPHQL_INTROSPECTION ? [] : [NoSchemaIntrospectionCustomRule],
    graphql: { parseOptions: { maxTokens: MAX_TOKENS } },
    // A query seen twice is compiled (graphql-jit): the hot path then skips graphql-js's generic executor.
    jit: 1,
    context: (request: FastifyRequest): GraphqlContext => ({ request, calls: new ServiceCalls(request, callSettings) }),
    errorFormatter: (execution: ExecutionResult & { errors: readonly GraphQLError[] }, context: MercuriusContext) =>
      formatExecution(execution, (context as ExecutionContext).request),
    errorHandler: (error, request, reply) => void sendRefusal(error as never, request, reply),
    subscription: {
      // At connection_init, before it is acknowledged: a refused connection is closing already, and gets no feed.
      context: async (socket: WebSocket, request: FastifyRequest): Promise<GraphqlContext> => ({
        request,
        calls: new ServiceCalls(request, callSettings),
        ...((await admission.admit(socket, request)) ? { orderFeed: new OrderFeed(upstreams.orders, request, socket, config.UPSTREAM_CONNECT_TIMEOUT_MS) } : {}),
      }),
    },
    additionalRouteOptions: { logLevel: accessLoggedRouteLevel(config.LOG_LEVEL), config: { accessLog: true } },
  });

  const queryLimits = new QueryLimits(app.graphql.schema, limits);
  app.graphql.addHook('preExecution', async (_schema: GraphQLSchema, document: DocumentNode, context: MercuriusContext, variables: Record<string, unknown>) => {
    const { request } = context as ExecutionContext;
    const reply: FastifyReply = context.reply;
    const { cost } = queryLimits.analyse(document, variables, operationNameOf(request));
    // The request counted once at the edge; a costly query counts once more per started unit.
    const extraCounts = Math.ceil(cost / config.GRAPHQL_COST_PER_REQUEST) - 1;
    if (extraCounts > 0) await limiters.countMore(request, reply, extraCounts);
  });
  app.graphql.addHook('preSubscriptionExecution', async (_schema: GraphQLSchema, document: DocumentNode, context: MercuriusContext) => {
    try {
      queryLimits.analyse(document, undefined, undefined);
    } catch (error) {
      throw asGraphqlError(error, (context as ExecutionContext).request);
    }
  });

  let printed: string | undefined;
  app.get(`${GRAPHQL_PATH}/schema.graphql`, { logLevel: accessLoggedRouteLevel(config.LOG_LEVEL), config: { accessLog: true } }, async (_request, reply) => {
    printed ??= printSchema(app.graphql.schema);
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'public, max-age=60').send(printed);
  });
};

/** Adds GraphQL to the gateway (see `graphqlPlugin`). */
export async function installGraphql(app: FastifyInstance, options: GraphqlOptions): Promise<void> {
  await app.register(graphqlPlugin, options);
}
