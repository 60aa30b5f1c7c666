import { ErrorCodes } from '@shop/contracts';
import fc from 'fast-check';
import type { ApiClient, ApiRequest } from '../client';

/** Values a hostile client would put anywhere: NUL, lone surrogates, huge numbers, wrong types, near-ids. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '\u0000', '\ud800', 'a'.repeat(5_000), '00000000-0000-0000-0000-000000000000', 'not-a-uuid', '-price', "'; DROP TABLE products; --", '${jndi:x}', 'eyJ9'),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.integer(),
  fc.constantFrom(2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, 1e308, -1, 0, 101, 0.5),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

/** Queries shaped like a client's, every argument a variable filled with anything. */
const TEMPLATES: { query: string; variables: string[] }[] = [
  { query: 'query ($first: Int, $after: String, $q: String, $sort: String, $filter: ProductFilter) { products(first: $first, after: $after, q: $q, sort: $sort, filter: $filter) { edges { node { id name priceCents category { name } } cursor } pageInfo { hasNextPage endCursor } } }', variables: ['first', 'after', 'q', 'sort', 'filter'] },
  { query: 'query ($id: ID!) { product(id: $id) { id sku stock tags recommendations(first: 3) { score reason product { id } } } }', variables: ['id'] },
  { query: 'query ($first: Int, $after: String) { categories(first: $first, after: $after) { edges { node { id slug } } pageInfo { endCursor } } }', variables: ['first', 'after'] },
  { query: 'query ($id: ID!) { category(id: $id) { id name } }', variables: ['id'] },
  { query: '{ me { id email role createdAt } }', variables: [] },
  { query: 'query ($first: Int, $after: String, $status: OrderStatus, $userId: ID) { orders(first: $first, after: $after, status: $status, userId: $userId) { edges { node { id status items { quantity product { name } } } } } }', variables: ['first', 'after', 'status', 'userId'] },
  { query: 'query ($id: ID!) { order(id: $id) { id status } }', variables: ['id'] },
  { query: 'query ($first: Int) { recommendedProducts(first: $first) { score product { id } } }', variables: ['first'] },
  { query: 'mutation ($input: PlaceOrderInput!, $key: String, $wait: Int) { placeOrder(input: $input, idempotencyKey: $key, waitSeconds: $wait) { id status } }', variables: ['input', 'key', 'wait'] },
  { query: 'mutation ($id: ID!, $key: String) { cancelOrder(id: $id, idempotencyKey: $key) { id status } }', variables: ['id', 'key'] },
  { query: 'mutation ($input: ProductInput!) { createProduct(input: $input) { id } }', variables: ['input'] },
  { query: 'mutation ($id: ID!, $input: ProductPatchInput!) { updateProduct(id: $id, input: $input) { id version } }', variables: ['id', 'input'] },
  { query: 'mutation ($id: ID!) { deleteProduct(id: $id) }', variables: ['id'] },
];

/** Plausible inputs, so that some requests get past validation and reach the services. */
const plausibleInput = fc.oneof(
  fc.record({ items: fc.array(fc.record({ productId: fc.uuid(), quantity: fc.integer({ min: -5, max: 2_000 }) }), { maxLength: 3 }) }),
  fc.record({ sku: hostileString, name: hostileString, priceCents: fc.integer({ min: -1, max: 2 ** 31 }), stock: fc.integer({ min: -1, max: 2 ** 31 }) }, { requiredKeys: ['sku', 'name', 'priceCents', 'stock'] }),
  fc.record({ name: hostileString, tags: fc.array(hostileString, { maxLength: 3 }), categoryId: fc.option(fc.uuid()) }, { requiredKeys: [] }),
);

const templated = fc.record({
  template: fc.constantFrom(...TEMPLATES),
  values: fc.dictionary(fc.constantFrom('first', 'after', 'q', 'sort', 'filter', 'id', 'status', 'userId', 'input', 'key', 'wait'), fc.oneof(hostileValue, plausibleInput, fc.uuid())),
}).map(({ template, values }) => ({ query: template.query, variables: Object.fromEntries(template.variables.filter((name) => name in values).map((name) => [name, values[name]])) as Record<string, unknown> }));

/** Nested selections, aliases and fragments beyond any limit, and documents that are not GraphQL. */
const structural = fc.oneof(
  fc.integer({ min: 1, max: 30 }).map((depth) => ({ query: `{ product(id: "${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}") ${'{ recommendations { product '.repeat(depth)}{ id }${' } }'.repeat(depth)} }` })),
  fc.integer({ min: 1, max: 200 }).map((count) => ({ query: `{ ${Array.from({ length: count }, (_, index) => `a${index}: products(first: 100) { edges { node { id } } }`).join(' ')} }` })),
  fc.constantFrom(
    { query: 'fragment F on Query { ...F } { ...F }' },
    { query: '{ __schema { types { name fields { name type { ofType { ofType { ofType { name } } } } } } } }' },
    { query: 'subscription { orderUpdated { id } }' },
    { query: '{ nope }' },
    { query: 'query A { me { id } } query B { me { id } }' },
  ),
  hostileString.map((query) => ({ query })),
  fc.record({ query: hostileValue, variables: hostileValue, operationName: hostileValue }, { requiredKeys: [] }),
);

export type GraphqlFuzzRequest = ApiRequest;

export function graphqlRequests(tokens: { customer: string; admin: string }): fc.Arbitrary<GraphqlFuzzRequest> {
  const credentials = fc.constantFrom<Record<string, string>>({}, { authorization: `Bearer ${tokens.customer}` }, { authorization: `Bearer ${tokens.admin}` }, { authorization: 'Bearer forged.token.value' });
  const body = fc.oneof({ weight: 4, arbitrary: templated }, { weight: 2, arbitrary: structural });
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(body, credentials).map(([payload, headers]): ApiRequest => ({ method: 'POST', path: '/graphql', headers, body: payload })) },
    {
      weight: 1,
      arbitrary: fc.tuple(body, credentials).map(([payload, headers]): ApiRequest => {
        const query = new URLSearchParams();
        for (const [name, value] of Object.entries(payload)) query.set(name, typeof value === 'string' ? value : JSON.stringify(value));
        return { method: 'GET', path: `/graphql?${query}`, headers };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(hostileString, fc.constantFrom('text/plain', 'application/graphql', 'application/json', 'application/x-www-form-urlencoded')).map(
        ([text, contentType]): ApiRequest => ({ method: 'POST', path: '/graphql', headers: { 'content-type': contentType }, body: text }),
      ),
    },
  );
}

const INTERNALS = /127\.0\.0\.1|localhost:\d|ECONN|\bat [\w.<>]+ \(|\.ts:\d+|node_modules|SELECT |QueryFailedError/;

/** What is wrong with a GraphQL answer: a 5xx, a body that is not a GraphQL response, an error without a known code, or internals. */
export function graphqlAnswerProblems(status: number, json: unknown, text: string): string[] {
  const problems: string[] = [];
  if (status >= 500) problems.push(`status ${status}`);
  if (INTERNALS.test(text)) problems.push('the answer shows internals');
  if (json === null || typeof json !== 'object') return [...problems, 'the body is not JSON'];
  const answer = json as { data?: unknown; errors?: unknown };
  if (!('data' in answer) && !('errors' in answer)) problems.push('neither data nor errors');
  if (answer.errors !== undefined) {
    if (!Array.isArray(answer.errors) || answer.errors.length === 0) problems.push('errors is not a non-empty list');
    else
      for (const error of answer.errors as { message?: unknown; extensions?: { code?: unknown; status?: unknown } }[]) {
        if (typeof error.message !== 'string') problems.push('an error without a message');
        const code = error.extensions?.code;
        if (typeof code !== 'string' || !(code in ErrorCodes)) problems.push(`an error whose code is not in the table: ${String(code)}`);
        else if (error.extensions?.status !== ErrorCodes[code as keyof typeof ErrorCodes].status) problems.push(`${code} with status ${String(error.extensions?.status)}`);
        if (typeof error.extensions?.status === 'number' && error.extensions.status >= 500 && error.extensions.status !== 503 && error.extensions.status !== 504) {
          problems.push(`an error with status ${error.extensions.status}`);
        }
      }
  }
  if (status >= 400 && status !== 429 && (answer.errors === undefined || answer.data !== null)) problems.push(`status ${status} without errors and null data`);
  return problems;
}

export async function fuzzGraphql(client: ApiClient, tokens: { customer: string; admin: string }, options: { runs: number; seed: number }) {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(graphqlRequests(tokens), async (request) => {
      const response = await client.send(request);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const problems = graphqlAnswerProblems(response.status, response.json, response.text);
      if (problems.length > 0) throw new Error(`${request.method} ${request.path} ${JSON.stringify(request.body)?.slice(0, 500)} → ${response.status} ${response.text.slice(0, 500)}: ${problems.join('; ')}`);
    }),
    { numRuns: options.runs, seed: options.seed, endOnFailure: true },
  );
  return statuses;
}
