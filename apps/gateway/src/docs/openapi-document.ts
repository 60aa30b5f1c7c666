import { isDeepStrictEqual } from 'node:util';
import { OPERATION_TAGS, PROBLEM_CONTENT_TYPE, ProblemSchema, type OperationAccess, type PublicOperation } from '@shop/contracts';
import type { TObject, TSchema } from '@sinclair/typebox';

export type JsonObject = Record<string, unknown>;
export interface OpenApiDocument extends JsonObject {
  openapi: string;
  info: JsonObject;
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, JsonObject>>;
  components: { securitySchemes: JsonObject; responses: JsonObject; schemas: JsonObject };
}

const MERGE_PATCH_CONTENT_TYPE = 'application/merge-patch+json';
const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

/** What a success says when its schema does not. */
const SUCCESS_DESCRIPTIONS: Record<number, string> = { 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified' };

/** What a problem of each status means, unless the operation says more. */
const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid',
  403: 'Not allowed (a scope is missing, or the account is disabled)',
  404: 'Not found',
  409: 'In conflict with the current state',
  412: 'The resource has changed since the ETag in If-Match',
  415: 'The request body is not JSON (UTF-8)',
  422: 'The request cannot be processed as sent',
  426: 'Upgrade required',
  503: 'Unavailable',
};

/**
 * The answers anyone may get, named once: a 401 carries its challenge, a 429 its Retry-After,
 * and the gateway answers 502/503/504 itself for any proxied operation whose service fails.
 */
function sharedResponses(): JsonObject {
  const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } } };
  return {
    Unauthorized: {
      ...problem('Missing or bad credentials (`WWW-Authenticate` says which)'),
      headers: { 'WWW-Authenticate': { description: 'The authentication challenge', schema: { type: 'string' } } },
    },
    RateLimited: { ...problem('Too many requests'), headers: retryAfter },
    BodyTooLarge: problem('The request body is over 1 MiB'),
    UnsupportedMediaType: problem('The request body is not JSON (UTF-8)'),
    BadUpstreamResponse: problem('The service behind this route failed to answer'),
    UpstreamUnavailable: { ...problem('The service behind this route is unavailable (or paused by its circuit breaker)'), headers: retryAfter },
    UpstreamTimeout: problem('The service behind this route did not answer in time'),
  };
}

/**
 * The OpenAPI 3.1 document of the whole public API, built from the operation table at start-up:
 * each operation with its parameters, body and answers from its TypeBox schemas (JSON Schema
 * already), who may call it, and what the kit and the edge may answer on top (413/415 for a body,
 * 401 where credentials are needed, 429 where a rate limit counts, 502/503/504 when proxied).
 * A schema with an `$id` (`Product`, `Problem`, ...) becomes a component, referenced wherever it is used.
 */
export function buildOpenApiDocument(operations: readonly PublicOperation[], { version }: { version: string }): OpenApiDocument {
  const schemas = new SchemaComponents();
  schemas.use(ProblemSchema);
  const paths: OpenApiDocument['paths'] = {};
  for (const operation of operations) {
    const path = openApiPathOf(operation.path);
    paths[path] = { ...paths[path], [operation.method.toLowerCase()]: describeOperation(operation, schemas) };
  }

  const usedTags = new Set(operations.flatMap((operation) => operation.tags));
  const tagOrder = Object.keys(OPERATION_TAGS);
  const tags = [...usedTags]
    .sort((a, b) => rank(tagOrder, a) - rank(tagOrder, b) || a.localeCompare(b))
    .map((name) => ({ name, description: OPERATION_TAGS[name] ?? name }));

  const referenced = new Set(refsIn(paths));
  const responses = Object.fromEntries(Object.entries(sharedResponses()).filter(([name]) => referenced.has(`#/components/responses/${name}`)));

  return {
    openapi: '3.1.0',
    info: {
      title: 'shop API',
      version,
      description:
        'The public API of the shop, served by its gateway. Errors are RFC 9457 problems (`application/problem+json`) with a stable `code`. ' +
        'Every response carries `x-request-id` and the `RateLimit-*` headers; over a limit, 429 with `Retry-After`.',
    },
    servers: [{ url: '/', description: 'This gateway' }],
    tags,
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /v1/auth/login.' },
        apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'An API key from POST /v1/auth/api-keys.' },
      },
      responses,
      schemas: schemas.toObject(),
    },
  };
}

/** `/v1/products/:id` → `/v1/products/{id}`. */
export function openApiPathOf(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function describeOperation(operation: PublicOperation, schemas: SchemaComponents): JsonObject {
  const { params, querystring, headers, body, response } = operation.schema;
  const parameters = [...parametersOf(params, 'path', schemas), ...parametersOf(querystring, 'query', schemas), ...parametersOf(headers, 'header', schemas)];

  const responses: JsonObject = {};
  for (const [status, schema] of Object.entries(response)) responses[status] = responseOf(Number(status), schema, schemas);
  const shared = (status: number, name: string) => {
    responses[status] ??= { $ref: `#/components/responses/${name}` };
  };
  // The kit's answers to any body: too large, or not JSON.
  if (body !== undefined) {
    shared(413, 'BodyTooLarge');
    shared(415, 'UnsupportedMediaType');
  }
  // The edge's: no credentials where they are needed, a rate limit, a service that fails.
  if (operation.access.caller !== 'anyone') shared(401, 'Unauthorized');
  if (operation.rateLimit !== 'none') shared(429, 'RateLimited');
  if (operation.service !== 'gateway') {
    shared(502, 'BadUpstreamResponse');
    shared(503, 'UpstreamUnavailable');
    shared(504, 'UpstreamTimeout');
  }

  const bodyTypes = operation.method === 'PATCH' ? ['application/json', MERGE_PATCH_CONTENT_TYPE] : ['application/json'];
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    ...(operation.description === undefined ? {} : { description: operation.description }),
    tags: [...operation.tags],
    security: securityOf(operation.access),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body === undefined
      ? {}
      : { requestBody: { required: !operation.bodyOptional, content: Object.fromEntries(bodyTypes.map((type) => [type, { schema: schemas.use(body) }])) } }),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
  };
}

/**
 * Who may call, in OpenAPI terms: no requirement for anyone; otherwise a bearer token or an API
 * key (unless keys are refused), each listing the scopes it needs (3.1 allows them on any scheme).
 */
function securityOf(access: OperationAccess): JsonObject[] {
  if (access.caller === 'anyone') return [];
  const bearer = { bearerAuth: [...access.scopes] };
  if (access.apiKeys === 'refused') return [bearer];
  const keyScopes = access.apiKeys === 'like-users' ? access.scopes : [...access.scopes, ...access.apiKeys.scopes];
  return [bearer, { apiKeyAuth: [...keyScopes] }];
}

function parametersOf(schema: TObject | undefined, location: 'path' | 'query' | 'header', schemas: SchemaComponents): JsonObject[] {
  if (schema === undefined) return [];
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, property]) => {
    const { description, ...rest } = schemas.use(property);
    // A parameter with a default may be left out: the service fills it in.
    const isRequired = location === 'path' || (required.has(name) && !('default' in property));
    return { name, in: location, required: isRequired, ...(typeof description === 'string' ? { description } : {}), schema: rest };
  });
}

function responseOf(status: number, schema: TSchema, schemas: SchemaComponents): JsonObject {
  const description = typeof schema.description === 'string' ? schema.description : undefined;
  if (status >= 400) {
    // Problems are told apart by their `code`, not by their schema: one component for all.
    if (description === undefined && status === 401) return { $ref: '#/components/responses/Unauthorized' };
    if (description === undefined && status === 429) return { $ref: '#/components/responses/RateLimited' };
    return problem(description ?? PROBLEM_DESCRIPTIONS[status] ?? 'A problem');
  }
  const answer = description ?? SUCCESS_DESCRIPTIONS[status] ?? 'Success';
  if (schema.type === 'null') return { description: answer };
  return { description: answer, content: { 'application/json': { schema: schemas.use(schema) } } };
}

function problem(description: string): JsonObject {
  return { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_REF } } };
}

function rank(order: string[], name: string): number {
  const index = order.indexOf(name);
  return index === -1 ? order.length : index;
}

/**
 * The document's named schemas: a TypeBox schema with an `$id` is put in `components.schemas`
 * under that name once, and referenced wherever it appears (nested ones too).
 */
class SchemaComponents {
  private readonly named = new Map<string, JsonObject>();

  /** The schema as plain JSON Schema for the document, with its named parts referenced. */
  use(schema: TSchema): JsonObject {
    return this.rewrite(JSON.parse(JSON.stringify(schema)) as unknown) as JsonObject;
  }

  toObject(): JsonObject {
    return Object.fromEntries([...this.named].sort(([a], [b]) => a.localeCompare(b)));
  }

  private rewrite(node: unknown): unknown {
    if (Array.isArray(node)) return node.map((item) => this.rewrite(item));
    if (node === null || typeof node !== 'object') return node;
    const { $id, ...rest } = node as JsonObject;
    const rewritten = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, this.rewrite(value)]));
    if (typeof $id !== 'string') return rewritten;
    const existing = this.named.get($id);
    // Two different schemas under one name would make one of them lie: a mistake in the contracts.
    if (existing !== undefined && !isDeepStrictEqual(existing, rewritten)) throw new Error(`two different schemas are named ${$id}`);
    this.named.set($id, rewritten);
    return { $ref: `#/components/schemas/${$id}` };
  }
}

function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => (key === '$ref' && typeof child === 'string' ? [child] : refsIn(child)));
}
