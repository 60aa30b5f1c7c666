import { isDeepStrictEqual } from 'node:util';
import { PROBLEM_CONTENT_TYPE, ProblemFieldErrorSchema, ProblemSchema } from '@shop/contracts';
import { openApiPathOf, pathParamsOf, type PublicRoute, type UpstreamName } from '../routes/route-table';
import { GATEWAY_OPERATIONS, ORDER_EVENTS_OPERATION } from './gateway-operations';

/** Just enough of OpenAPI 3 to merge documents; everything else is carried over as it is. */
export type JsonObject = Record<string, unknown>;
export interface OpenApiDocument extends JsonObject {
  openapi: string;
  info: JsonObject;
  paths: Record<string, Record<string, JsonObject>>;
  components?: Record<string, Record<string, unknown>>;
  tags?: { name: string; description?: string }[];
}

export interface AssembleOptions {
  routes: readonly PublicRoute[];
  /** Each service's own document, or null when it has never been reachable. */
  upstreamDocuments: Partial<Record<UpstreamName, OpenApiDocument | null>>;
  version: string;
}

const TAG_DESCRIPTIONS: Record<string, string> = {
  gateway: 'The gateway itself: health and this document.',
  auth: 'Accounts, login and tokens.',
  'api-keys': 'API keys for machines (admins only).',
  users: 'User administration (admins only).',
  products: 'The product catalog.',
  categories: 'Product categories.',
  orders: 'Orders and their live updates.',
  recommendations: 'Products bought together, and products for you, learnt from confirmed orders.',
};

const SECURED = [{ bearerAuth: [] }, { apiKeyAuth: [] }];

/** The answers the gateway itself may give on any proxied operation. */
const EDGE_RESPONSES: Record<string, string> = {
  '429': 'RateLimited',
  '502': 'BadUpstreamResponse',
  '503': 'UpstreamUnavailable',
  '504': 'UpstreamTimeout',
};

/**
 * One OpenAPI document for the whole public API: each allow-listed operation as its service
 * describes it (filtered, so no internal route appears), with the gateway's own additions
 * (operationId, security with API keys, the edge's 401/429/5xx answers), the components those
 * operations use (renamed to their schema titles, de-duplicated across services), and the
 * gateway's own routes. An operation whose service has never been reachable is still listed,
 * from the route table, so the document always matches what is routed.
 */
export function assembleOpenApi({ routes, upstreamDocuments, version }: AssembleOptions): OpenApiDocument {
  const components = new ComponentRegistry();
  components.add('schemas', 'ProblemFieldError', { ...withoutIds(ProblemFieldErrorSchema), title: 'ProblemFieldError' });
  components.add('schemas', 'Problem', {
    ...withoutIds(ProblemSchema),
    title: 'Problem',
    properties: { ...(withoutIds(ProblemSchema).properties as JsonObject), errors: { type: 'array', items: { $ref: '#/components/schemas/ProblemFieldError' } } },
  });

  const paths: OpenApiDocument['paths'] = {};
  const addOperation = (path: string, method: string, operation: JsonObject) => {
    paths[path] = { ...paths[path], [method]: operation };
  };

  for (const operation of GATEWAY_OPERATIONS) addOperation(operation.path, operation.method, operation.operation);

  const renamers = new Map<UpstreamName, (value: unknown) => unknown>();
  for (const route of routes) {
    const path = openApiPathOf(route.path);
    const method = route.method.toLowerCase();
    const document = upstreamDocuments[route.upstream] ?? null;
    const described = route.websocket ? undefined : document?.paths?.[path]?.[method];
    let operation: JsonObject;
    if (described && typeof described === 'object') {
      let rename = renamers.get(route.upstream);
      if (rename === undefined) {
        rename = components.importFrom(route.upstream, document!, operationsOf(routes, route.upstream, document!));
        renamers.set(route.upstream, rename);
      }
      operation = rename(structuredClone(described)) as JsonObject;
    } else {
      operation = route.websocket ? structuredClone(ORDER_EVENTS_OPERATION) : stubOperation(route);
    }
    addOperation(path, method, edgeOperation(route, operation));
  }

  const usedTags = new Set<string>();
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) for (const tag of (operation.tags as string[] | undefined) ?? []) usedTags.add(tag);
  }
  const upstreamTagDescriptions = new Map<string, string>();
  for (const document of Object.values(upstreamDocuments)) {
    for (const tag of document?.tags ?? []) if (tag.description) upstreamTagDescriptions.set(tag.name, tag.description);
  }

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
    tags: [...usedTags].sort().map((name) => ({ name, description: upstreamTagDescriptions.get(name) ?? TAG_DESCRIPTIONS[name] ?? name })),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /v1/auth/login.' },
        apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'An API key from POST /v1/auth/api-keys.' },
      },
      responses: usedOnly(edgeResponseComponents(), paths, '#/components/responses/'),
      ...components.toObject(),
    },
  };
}

/** The gateway's view on an operation: its id, who may call it, and what the edge may answer. */
function edgeOperation(route: PublicRoute, operation: JsonObject): JsonObject {
  const responses = { ...(operation.responses as JsonObject | undefined) };
  if (route.auth === 'required' && responses['401'] === undefined) responses['401'] = { $ref: '#/components/responses/Unauthorized' };
  for (const [status, name] of Object.entries(EDGE_RESPONSES)) {
    if (responses[status] === undefined) responses[status] = { $ref: `#/components/responses/${name}` };
  }
  const tags = Array.isArray(operation.tags) && operation.tags.length > 0 ? operation.tags : [route.upstream];
  return { ...operation, operationId: route.operationId, tags, security: route.auth === 'required' ? SECURED : [], responses };
}

function stubOperation(route: PublicRoute): JsonObject {
  const parameters = pathParamsOf(route.path).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
  return {
    summary: route.summary,
    description: `The ${route.upstream} service was unreachable when this document was assembled; its full description will appear once it answers.`,
    tags: [route.upstream],
    ...(parameters.length > 0 ? { parameters } : {}),
    responses: {
      '2XX': { description: 'Success' },
      '400': { $ref: '#/components/responses/BadRequest' },
    },
  };
}

function problemResponse(description: string): JsonObject {
  return { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } } };
}

function edgeResponseComponents(): JsonObject {
  const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } } };
  return {
    BadRequest: problemResponse('The request is not valid'),
    Unauthorized: {
      ...problemResponse('Missing or bad credentials (`WWW-Authenticate` says which)'),
      headers: { 'WWW-Authenticate': { description: 'The authentication challenge', schema: { type: 'string' } } },
    },
    RateLimited: { ...problemResponse('Too many requests'), headers: retryAfter },
    BadUpstreamResponse: problemResponse('The service behind this route failed to answer'),
    UpstreamUnavailable: { ...problemResponse('The service behind this route is unavailable (or paused by its circuit breaker)'), headers: retryAfter },
    UpstreamTimeout: problemResponse('The service behind this route did not answer in time'),
  };
}

/** The gateway's shared responses that some operation refers to (an unused component is noise). */
function usedOnly(responses: JsonObject, paths: OpenApiDocument['paths'], prefix: string): JsonObject {
  const used = new Set(refsIn(paths).filter((ref) => ref.startsWith(prefix)).map((ref) => ref.slice(prefix.length)));
  return Object.fromEntries(Object.entries(responses).filter(([name]) => used.has(name)));
}

/** The allow-listed operations of one upstream, as found in its document. */
function operationsOf(routes: readonly PublicRoute[], upstream: UpstreamName, document: OpenApiDocument): unknown[] {
  return routes
    .filter((route) => route.upstream === upstream && !route.websocket)
    .map((route) => document.paths?.[openApiPathOf(route.path)]?.[route.method.toLowerCase()])
    .filter((operation) => operation !== undefined);
}

const REF_PREFIX = '#/components/';
const COMPONENT_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * Components of the merged document. Each upstream's components are imported under their schema
 * title when they have one (`def-3` → `Product`), the same component from two services is kept
 * once, and a clash of names with different content is resolved with the service's prefix.
 */
class ComponentRegistry {
  private readonly byType = new Map<string, Map<string, unknown>>();

  add(type: string, name: string, value: unknown): void {
    this.typeMap(type).set(name, value);
  }

  /** Imports what `roots` reference, transitively; returns the function that rewrites their `$ref`s. */
  importFrom(upstream: string, document: OpenApiDocument, roots: unknown[]): (value: unknown) => unknown {
    const source = document.components ?? {};
    const needed = new Map<string, { type: string; name: string }>();
    const pending = roots.flatMap((root) => refsIn(root));
    while (pending.length > 0) {
      const ref = pending.pop()!;
      if (needed.has(ref)) continue;
      const [type, name] = ref.slice(REF_PREFIX.length).split('/') as [string, string];
      const value = source[type]?.[decodeRef(name)];
      if (value === undefined) continue;
      needed.set(ref, { type, name: decodeRef(name) });
      pending.push(...refsIn(value));
    }

    const renames = new Map<string, string>();
    for (const [ref, { type, name }] of needed) {
      const value = source[type]![name] as JsonObject;
      const title = typeof value?.title === 'string' && COMPONENT_NAME.test(value.title) ? value.title : undefined;
      const newName = this.nameFor(type, title ?? `${upstream}-${name}`, upstream, value);
      // Taken at once, so that two components of this import cannot get the same name.
      if (!this.typeMap(type).has(newName)) this.typeMap(type).set(newName, value);
      renames.set(ref, `${REF_PREFIX}${type}/${newName}`);
    }
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rewrite);
      if (value === null || typeof value !== 'object') return value;
      const result: JsonObject = {};
      for (const [key, child] of Object.entries(value)) {
        result[key] = key === '$ref' && typeof child === 'string' ? (renames.get(child) ?? child) : rewrite(child);
      }
      return result;
    };
    for (const [ref, { type, name }] of needed) {
      const newName = renames.get(ref)!.slice(`${REF_PREFIX}${type}/`.length);
      this.typeMap(type).set(newName, rewrite(source[type]![name]));
    }
    return rewrite;
  }

  toObject(): Record<string, Record<string, unknown>> {
    const result: Record<string, Record<string, unknown>> = {};
    for (const [type, entries] of this.byType) {
      result[type] = Object.fromEntries([...entries].sort(([a], [b]) => a.localeCompare(b)));
    }
    return result;
  }

  private nameFor(type: string, wanted: string, upstream: string, value: unknown): string {
    const existing = this.typeMap(type);
    const candidates = [wanted, `${upstream}-${wanted}`];
    for (const candidate of candidates) {
      const present = existing.get(candidate);
      // Same title, same content: one component. Compared without references, which are renamed later.
      if (present === undefined || isDeepStrictEqual(withoutRefs(present), withoutRefs(value))) return candidate;
    }
    for (let counter = 2; ; counter += 1) {
      const candidate = `${upstream}-${wanted}-${counter}`;
      if (!existing.has(candidate)) return candidate;
    }
  }

  private typeMap(type: string): Map<string, unknown> {
    let entries = this.byType.get(type);
    if (entries === undefined) {
      entries = new Map();
      this.byType.set(type, entries);
    }
    return entries;
  }
}

function refsIn(value: unknown): string[] {
  const refs: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (key === '$ref' && typeof child === 'string' && child.startsWith(REF_PREFIX)) refs.push(child);
        else walk(child);
      }
    }
  };
  walk(value);
  return refs;
}

function decodeRef(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

function withoutRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, key === '$ref' ? '' : withoutRefs(child)]));
}

/** A TypeBox schema as plain JSON Schema for the document: no `$id`s (they are names, not URLs, here). */
function withoutIds(schema: unknown): JsonObject {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== '$id').map(([key, child]) => [key, strip(child)]));
  };
  return strip(JSON.parse(JSON.stringify(schema))) as JsonObject;
}
