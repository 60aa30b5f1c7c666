import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Access, CATALOG_OPERATIONS, defineOperations, OPERATION_TAGS, PUBLIC_OPERATIONS } from '@shop/contracts';
import { Type } from '@sinclair/typebox';
import t from 'tap';
import { buildOpenApiDocument, openApiPathOf, type OpenApiDocument } from '../../src/docs/openapi-document';
import { startFakeServices } from '../fake-services';
import { buildGateway } from '../helper';

const GATEWAY_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REDOCLY = fileURLToPath(new URL('../../../../node_modules/.bin/redocly', import.meta.url));
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface LintTotals {
  errors: number;
  warnings: number;
  ignored: number;
}

/** `redocly lint` with the gateway's config, on the document as the gateway served it. */
async function lint(document: unknown): Promise<{ totals: LintTotals; problems: { ruleId: string; message: string }[] }> {
  const directory = mkdtempSync(join(tmpdir(), 'gateway-openapi-'));
  const file = join(directory, 'openapi.json');
  writeFileSync(file, JSON.stringify(document));
  try {
    const { stdout } = await promisify(execFile)(REDOCLY, ['lint', file, '--config', join(GATEWAY_ROOT, 'redocly.yaml'), '--format', 'json'], {
      cwd: GATEWAY_ROOT,
      maxBuffer: 20 * 1024 * 1024,
    }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    return JSON.parse(stdout) as { totals: LintTotals; problems: { ruleId: string; message: string }[] };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function operationsOf(document: OpenApiDocument): { method: string; path: string; operation: Record<string, unknown> }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({ method, path, operation })),
  );
}

t.test('the document of the whole public API, from the operation table', async (t) => {
  // No service is reachable: the document needs none of them.
  const { app } = await buildGateway(t, { issuer: null });
  const served = await app.inject({ method: 'GET', url: '/docs/openapi.json' });
  t.equal(served.statusCode, 200);
  t.match(served.headers['content-type'], /^application\/json/);
  const document = served.json<OpenApiDocument>();
  const operations = operationsOf(document);
  const schemas = document.components.schemas as Record<string, { properties?: Record<string, unknown> }>;

  t.test('lints clean with redocly', async (t) => {
    const { totals, problems } = await lint(document);
    t.same(totals, { errors: 0, warnings: 0, ignored: 0 }, JSON.stringify(problems.map((problem) => `${problem.ruleId}: ${problem.message}`)));
  });

  t.test('what the linter was told to skip holds anyway', async (t) => {
    for (const { method, path, operation } of operations) {
      const statuses = Object.keys(operation.responses as object);
      if (path !== '/v1/orders/events') t.ok(statuses.some((status) => status.startsWith('2')), `${method} ${path} has a 2xx`);
      if (!path.startsWith('/health')) t.ok(statuses.some((status) => status.startsWith('4')), `${method} ${path} has a 4xx`);
    }
  });

  t.test('every declared operation is documented, once, and nothing else', async (t) => {
    const documented = operations.map(({ method, path, operation }) => `${operation.operationId as string} ${method.toUpperCase()} ${path}`).sort();
    const declared = PUBLIC_OPERATIONS.map((operation) => `${operation.operationId} ${operation.method} ${openApiPathOf(operation.path)}`).sort();
    t.same(documented, declared);
    t.equal(new Set(operations.map(({ operation }) => operation.operationId)).size, operations.length, 'operationIds are unique');
    t.notOk(
      operations.some(({ path }) => path.startsWith('/internal')),
      'no internal operation of any service',
    );
  });

  t.test("the services' own words, and what the edge adds", async (t) => {
    t.equal(document.paths['/v1/auth/login']!.post!.summary, 'Exchange email and password for an access and a refresh token');
    t.equal(document.paths['/v1/products/{id}']!.get!.summary, 'One product, with its ETag');
    t.match(document.paths['/v1/orders/events']!.get!, {
      operationId: 'orderEvents',
      parameters: [{ name: 'access_token', in: 'query', required: false }],
      responses: { '101': { description: /Switching Protocols/ }, '426': {} },
    });
    t.notOk((document.paths['/v1/orders/events']!.get!.responses as Record<string, { content?: unknown }>)['101']!.content, 'an upgrade has no body');
    t.same(document.paths['/v1/products/{id}']!.get!.responses, {
      '200': { description: 'OK', content: { 'application/json': { schema: { $ref: '#/components/schemas/Product' } } } },
      '304': { description: 'Not modified: the ETag matched' },
      '404': { description: 'Not found', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      '429': { $ref: '#/components/responses/RateLimited' },
      '502': { $ref: '#/components/responses/BadUpstreamResponse' },
      '503': { $ref: '#/components/responses/UpstreamUnavailable' },
      '504': { $ref: '#/components/responses/UpstreamTimeout' },
    }, 'a public read: its own answers, and the edge’s');
    t.match(document.paths['/v1/products']!.post!.responses, {
      '401': { $ref: '#/components/responses/Unauthorized' },
      '413': { $ref: '#/components/responses/BodyTooLarge' },
      '415': {},
      '429': { $ref: '#/components/responses/RateLimited' },
    }, 'a write: credentials, and the body the kit refuses');
    t.same(Object.keys(document.paths['/health']!.get!.responses as object), ['200', '503'], 'the probes: neither rate limited nor proxied');
  });

  t.test('who may call, from the declared access', async (t) => {
    t.same(document.paths['/v1/products']!.get!.security, [], 'anyone');
    t.same(document.paths['/v1/auth/me']!.get!.security, [{ bearerAuth: [] }, { apiKeyAuth: [] }], 'signed in: a token or an API key');
    t.same(document.paths['/v1/products']!.post!.security, [{ bearerAuth: ['catalog:write'] }, { apiKeyAuth: ['catalog:write'] }], 'with a scope');
    t.same(document.paths['/v1/orders']!.post!.security, [{ bearerAuth: [] }], 'users only: an API key places no order');
    t.same(document.paths['/v1/orders/{id}']!.get!.security, [{ bearerAuth: [] }, { apiKeyAuth: ['orders:read:all'] }], 'an API key needs orders:read:all');
  });

  t.test('the TypeBox schemas, as they are validated', async (t) => {
    const listProducts = document.paths['/v1/products']!.get!.parameters as { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
    t.match(listProducts.find((parameter) => parameter.name === 'limit'), { in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } });
    t.match(document.paths['/v1/products/{id}']!.put!.parameters, [
      { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
      { name: 'if-match', in: 'header', required: false },
    ]);
    t.same(Object.keys((document.paths['/v1/products/{id}']!.patch!.requestBody as { content: object }).content), ['application/json', 'application/merge-patch+json']);
    t.match(document.paths['/v1/orders/{id}/cancel']!.post!.requestBody, { required: false }, 'the cancel body may be left out');
    t.match(document.paths['/v1/products']!.post!.requestBody, { required: true, content: { 'application/json': { schema: { additionalProperties: false, required: ['sku', 'name', 'priceCents', 'stock'] } } } });
  });

  t.test('named schemas are components, referenced where they are used', async (t) => {
    for (const name of ['ManagedUser', 'ApiKey', 'Product', 'ProductPage', 'Category', 'Order', 'OrderPage', 'Problem', 'ProblemFieldError', 'RecommendedItem']) t.ok(schemas[name], `schema ${name}`);
    t.same(schemas.RecommendedItem!.properties!.product, { $ref: '#/components/schemas/Product' }, 'a recommendation holds the catalog’s Product, kept once');
    t.same((schemas.Problem!.properties!.errors as { items: unknown }).items, { $ref: '#/components/schemas/ProblemFieldError' });
    t.notOk(JSON.stringify(document).includes('"$id"'), 'no $id left: names are references here');
  });

  t.test('Swagger UI reads the same document', async (t) => {
    const ui = await app.inject({ method: 'GET', url: '/docs/json' });
    t.equal(ui.statusCode, 200);
    t.same(ui.json(), document);
    const page = await app.inject({ method: 'GET', url: '/docs/' });
    t.equal(page.statusCode, 200);
    t.match(page.body, /swagger-ui/i);
  });

  t.test('with every service up, the document is the same', async (t) => {
    const fakes = await startFakeServices(t);
    const { app: connected } = await buildGateway(t, { issuer: null, auth: fakes.auth.url, catalog: fakes.catalog.url, orders: fakes.orders.url, recommendations: fakes.recommendations.url });
    t.same((await connected.inject({ method: 'GET', url: '/docs/openapi.json' })).json(), document);
    t.notOk(Object.values(fakes).some((fake) => fake.seen.some((request) => request.url.startsWith('/docs'))), 'no service was asked for a document');
  });
});

t.test('the operation table holds together', async (t) => {
  for (const operation of PUBLIC_OPERATIONS) {
    const inPath = [...operation.path.matchAll(/:([A-Za-z_]\w*)/g)].map((match) => match[1]);
    t.same(inPath, Object.keys(operation.schema.params?.properties ?? {}), `${operation.operationId}: the path's parameters are its params schema's`);
    for (const tag of operation.tags) t.ok(OPERATION_TAGS[tag], `${operation.operationId}: tag ${tag} is described`);
    t.ok(Object.keys(operation.schema.response).some((status) => Number(status) < 400), `${operation.operationId}: declares its success`);
  }
  const routes = PUBLIC_OPERATIONS.map((operation) => `${operation.method} ${operation.path}`);
  t.same(routes.filter((route, index) => routes.indexOf(route) !== index), [], 'no route is declared twice');
});

t.test('building the document', async (t) => {
  t.test('two different schemas under one name are refused', async (t) => {
    const clash = defineOperations('catalog', {
      oneThing: { method: 'GET', path: '/v1/things', tags: ['products'], summary: 'A thing', access: Access.anyone, schema: { response: { 200: Type.Object({ a: Type.String() }, { $id: 'Product' }) } } },
    });
    t.throws(() => buildOpenApiDocument([...Object.values(CATALOG_OPERATIONS), clash.oneThing], { version: 'test' }), /two different schemas are named Product/);
  });

  t.test('only the shared responses some operation uses', async (t) => {
    const document = buildOpenApiDocument([CATALOG_OPERATIONS.getProduct], { version: 'test' });
    t.same(Object.keys(document.components.responses).sort(), ['BadUpstreamResponse', 'RateLimited', 'UpstreamTimeout', 'UpstreamUnavailable']);
    t.same(Object.keys(document.components.schemas).sort(), ['Problem', 'ProblemFieldError', 'Product']);
  });
});
