import { PROBLEM_CONTENT_TYPE, ProblemSchema } from '@shop/contracts';

type JsonObject = Record<string, unknown>;

const MERGE_PATCH_CONTENT_TYPE = 'application/merge-patch+json';
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/**
 * What every service built on the kit does, said in its OpenAPI document, which @fastify/swagger
 * cannot know from the route schemas alone: errors are sent as `application/problem+json` (not
 * the `application/json` it assumes), any operation that takes a body may answer 413 (over
 * 1 MiB) and 415 (not JSON), and PATCH also takes `application/merge-patch+json`. Clients and
 * the contract tests read the document; it must describe the answers as they are sent.
 */
export function documentKitBehaviour<T extends { paths?: unknown }>(document: T): T {
  for (const item of Object.values((document.paths ?? {}) as Record<string, JsonObject>)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method) || operation === null || typeof operation !== 'object') continue;
      documentOperation(method, operation as JsonObject);
    }
  }
  return document;
}

function documentOperation(method: string, operation: JsonObject): void {
  const responses = (operation.responses ?? {}) as Record<string, JsonObject>;
  for (const [status, response] of Object.entries(responses)) {
    const content = response.content as Record<string, unknown> | undefined;
    if (Number(status) >= 400 && content?.['application/json'] !== undefined && content[PROBLEM_CONTENT_TYPE] === undefined) {
      const { 'application/json': problem, ...others } = content;
      response.content = { [PROBLEM_CONTENT_TYPE]: problem, ...others };
    }
  }
  const requestBody = operation.requestBody as { content?: Record<string, unknown> } | undefined;
  if (requestBody?.content === undefined) return;
  if (method === 'patch' && requestBody.content['application/json'] !== undefined && requestBody.content[MERGE_PATCH_CONTENT_TYPE] === undefined) {
    requestBody.content[MERGE_PATCH_CONTENT_TYPE] = requestBody.content['application/json'];
  }
  operation.responses = responses;
  responses['413'] ??= problemResponse('The request body is over 1 MiB');
  responses['415'] ??= problemResponse('The request body is not JSON (UTF-8)');
}

function problemResponse(description: string): JsonObject {
  return { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: withoutIds(ProblemSchema) } } };
}

/** A TypeBox schema as plain JSON Schema, inline: its `$id`s are names, not URLs, in a document. */
function withoutIds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutIds);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$id').map(([key, value]) => [key, withoutIds(value)]));
}
