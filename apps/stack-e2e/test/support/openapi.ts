import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** Just enough of OpenAPI 3.1 to drive requests and check answers; the rest is read as it comes. */
export type JsonSchema = Record<string, unknown>;
export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}
export interface ResponseObject {
  description?: string;
  headers?: Record<string, { schema?: JsonSchema }>;
  content?: Record<string, { schema?: JsonSchema }>;
}
export interface Operation {
  operationId: string;
  method: string;
  /** OpenAPI syntax: `/v1/products/{id}`. */
  path: string;
  parameters: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: JsonSchema }> };
  /** Keyed by status (`"200"`, `"2XX"`), references resolved. */
  responses: Record<string, ResponseObject>;
  /** Anonymous calls are welcome (no security requirement). */
  anonymous: boolean;
  tags: string[];
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components?: Record<string, Record<string, unknown>>;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/** The document exactly as the gateway serves it to the public. */
export async function fetchOpenApi(gatewayUrl: string): Promise<OpenApiDocument> {
  const response = await fetch(`${gatewayUrl}/docs/openapi.json`);
  if (!response.ok) throw new Error(`GET /docs/openapi.json answered ${response.status}`);
  return (await response.json()) as OpenApiDocument;
}

/**
 * Every `$ref` of `value` replaced by what it points to (the document has no recursive schemas;
 * a cycle would be reported rather than loop forever).
 */
export function dereference<T>(document: OpenApiDocument, value: T, seen: string[] = []): T {
  if (Array.isArray(value)) return value.map((item) => dereference(document, item, seen)) as T;
  if (value === null || typeof value !== 'object') return value;
  const ref = (value as Record<string, unknown>).$ref;
  if (typeof ref === 'string') {
    if (!ref.startsWith('#/')) throw new Error(`only local references are supported, not ${ref}`);
    if (seen.includes(ref)) throw new Error(`recursive reference ${ref}`);
    let target: unknown = document;
    for (const segment of ref.slice(2).split('/')) {
      target = (target as Record<string, unknown> | undefined)?.[segment.replaceAll('~1', '/').replaceAll('~0', '~')];
    }
    if (target === undefined) throw new Error(`dangling reference ${ref}`);
    return dereference(document, target, [...seen, ref]) as T;
  }
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, dereference(document, child, seen)])) as T;
}

/** Every operation of the document, references resolved. */
export function operationsOf(document: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const operation = dereference(document, raw) as Record<string, unknown>;
      const security = operation.security as unknown[] | undefined;
      operations.push({
        operationId: String(operation.operationId),
        method: method.toUpperCase(),
        path,
        parameters: (operation.parameters as Parameter[] | undefined) ?? [],
        ...(operation.requestBody ? { requestBody: operation.requestBody as Operation['requestBody'] } : {}),
        responses: operation.responses as Record<string, ResponseObject>,
        anonymous: security === undefined || security.length === 0,
        tags: (operation.tags as string[] | undefined) ?? [],
      });
    }
  }
  return operations;
}

/** The documented answer for a status: the exact one, else its class (`4XX`), else `default`. */
export function documentedResponse(operation: Operation, status: number): ResponseObject | undefined {
  return operation.responses[String(status)] ?? operation.responses[`${String(status)[0]}XX`] ?? operation.responses.default;
}

/** `application/problem+json; charset=utf-8` → `application/problem+json`. */
export function mediaTypeOf(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Checks answers against the document: the status must be documented for the operation, the
 * media type must be one the document lists for that status, and the body must validate
 * against the schema documented there. Validators are compiled once per schema.
 */
export class ResponseChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly document: OpenApiDocument) {
    addFormats.default(this.ajv);
  }

  /** Problems found, empty when the answer is as documented. */
  check(operation: Operation, status: number, contentType: string | null, body: unknown): string[] {
    const documented = documentedResponse(operation, status);
    if (documented === undefined) {
      return [`${operation.operationId}: status ${status} is not documented (documented: ${Object.keys(operation.responses).join(', ')})`];
    }
    return this.checkBody(`${operation.operationId} ${status}`, documented, contentType, body);
  }

  /** A body against a response object (for answers not tied to one operation, such as a 405). */
  checkBody(label: string, documented: ResponseObject, contentType: string | null, body: unknown): string[] {
    const content = documented.content ?? {};
    if (Object.keys(content).length === 0) {
      return body === undefined ? [] : [`${label}: documented without a body, but one came (${contentType})`];
    }
    const mediaType = mediaTypeOf(contentType);
    const entry = content[mediaType];
    if (entry === undefined) return [`${label}: answered ${mediaType || 'no content type'}, documented: ${Object.keys(content).join(', ')}`];
    if (entry.schema === undefined) return [];
    const validate = this.validatorOf(entry.schema);
    if (validate(body)) return [];
    return (validate.errors ?? []).map((error) => `${label}: body${error.instancePath} ${error.message} (${JSON.stringify(error.params)})`);
  }

  /** Whether a value is one the schema accepts (request bodies, for the fuzzer). */
  accepts(schema: JsonSchema, value: unknown): boolean {
    return this.validatorOf(schema)(value) === true;
  }

  private validatorOf(schema: JsonSchema): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (validate === undefined) {
      validate = this.ajv.compile(schema);
      this.compiled.set(key, validate);
    }
    return validate;
  }

  /** The document's Problem schema, for errors the gateway gives on no particular operation. */
  problemResponse(): ResponseObject {
    return { content: { 'application/problem+json': { schema: dereference(this.document, { $ref: '#/components/schemas/Problem' }) } } };
  }
}
