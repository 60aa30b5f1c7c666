import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { assembleOpenApi, type OpenApiDocument } from '../../src/docs/assemble-openapi';
import { GATEWAY_OPERATIONS } from '../../src/docs/gateway-operations';
import { PUBLIC_ROUTES, openApiPathOf } from '../../src/routes/route-table';
import { startFakeCatalog, startFakeOrders, startFakeRecommendations } from '../fake-services';
import { buildGateway, startRealAuth } from '../helper';

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

t.test('the document of the whole public API', async (t) => {
  const [auth, catalog, orders, recommendations] = await Promise.all([startRealAuth(t), startFakeCatalog(t), startFakeOrders(t), startFakeRecommendations(t)]);
  const { app } = await buildGateway(t, {
    auth: auth.url,
    catalog: catalog.url,
    orders: orders.url,
    recommendations: recommendations.url,
    issuer: null,
    env: { DOCS_CACHE_MS: '0' },
  });
  const served = await app.inject({ method: 'GET', url: '/docs/openapi.json' });
  t.equal(served.statusCode, 200);
  const document = served.json<OpenApiDocument>();
  const operations = operationsOf(document);

  // An unreachable gateway setup: every operation from the route table alone.
  const { app: lonely } = await buildGateway(t, {});
  const fallback = (await lonely.inject({ method: 'GET', url: '/docs/openapi.json' })).json<OpenApiDocument>();

  t.test('lints clean with redocly, with the services up and with all of them down', async (t) => {
    const [full, stubs] = await Promise.all([lint(document), lint(fallback)]);
    t.same(full.totals, { errors: 0, warnings: 0, ignored: 0 }, JSON.stringify(full.problems.map((problem) => `${problem.ruleId}: ${problem.message}`)));
    t.same(stubs.totals, { errors: 0, warnings: 0, ignored: 0 }, JSON.stringify(stubs.problems.map((problem) => `${problem.ruleId}: ${problem.message}`)));
  });

  t.test('what the linter was told to skip holds anyway', async (t) => {
    for (const { method, path, operation } of operations) {
      const statuses = Object.keys(operation.responses as object);
      if (path !== '/v1/orders/events') t.ok(statuses.some((status) => status.startsWith('2')), `${method} ${path} has a 2xx`);
      if (!path.startsWith('/health')) t.ok(statuses.some((status) => status.startsWith('4')), `${method} ${path} has a 4xx`);
    }
  });

  t.test('every routed operation is documented, and nothing else', async (t) => {
    const documented = operations.map(({ method, path }) => `${method.toUpperCase()} ${path}`).sort();
    const routed = [
      ...PUBLIC_ROUTES.map((route) => `${route.method} ${openApiPathOf(route.path)}`),
      ...GATEWAY_OPERATIONS.map((operation) => `${operation.method.toUpperCase()} ${operation.path}`),
    ].sort();
    t.same(documented, routed);
    t.notOk(
      operations.some(({ path, operation }) => path.startsWith('/internal') || (operation.tags as string[]).includes('internal')),
      'no internal operation of any service',
    );
    t.equal(new Set(operations.map(({ operation }) => operation.operationId)).size, operations.length, 'operationIds are unique');
  });

  t.test('every documented operation is really routed by the gateway', async (t) => {
    for (const { method, path } of operations) {
      const url = path.replace(/\{[^}]+\}/g, randomUUID());
      t.ok(app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{([^}]+)\}/g, ':$1') }), `${method} ${path} is a route`);
      const response = await app.inject({ method: method.toUpperCase() as 'GET', url, headers: { 'content-type': 'application/json' }, payload: method === 'get' ? undefined : '{}' });
      const code = String(response.headers['content-type'] ?? '').includes('problem') ? response.json<{ code: string }>().code : undefined;
      t.not(code, 'ROUTE_NOT_FOUND', `${method} ${path} answered ${response.statusCode} ${code ?? ''}`);
      t.not(code, 'METHOD_NOT_ALLOWED', `${method} ${path}`);
    }
  });

  t.test("the services' own descriptions, merged", async (t) => {
    t.equal(document.paths['/v1/auth/login']!.post!.summary, 'Exchange email and password for an access and a refresh token', "auth's own words");
    t.equal(document.paths['/v1/products/{id}']!.get!.summary, 'A product, with its ETag', "the catalog's own words");
    t.match(document.paths['/v1/orders/events']!.get!, { operationId: 'orderEvents', responses: { '101': {} } });
    const schemas = document.components!.schemas!;
    for (const name of ['ManagedUser', 'ApiKey', 'Product', 'Category', 'Problem', 'ProblemFieldError', 'RecommendedItem']) t.ok(schemas[name], `schema ${name}`);
    t.notOk(schemas['recommendations-Product'], 'the product of a recommendation is the catalog\'s Product, kept once');
    t.match(document.paths['/v1/products/{id}/recommendations']!.get!, { operationId: 'getProductRecommendations', summary: 'Products bought together with this one', security: [] });
    t.same(document.paths['/v1/recommendations']!.get!.security, [{ bearerAuth: [] }, { apiKeyAuth: [] }], 'for the signed-in customer');
    t.notOk(Object.keys(schemas).some((name) => /^(auth|catalog|orders)?-?def-\d+$/.test(name)), 'no generated def-N names');
    t.same(document.paths['/v1/auth/me']!.get!.security, [{ bearerAuth: [] }, { apiKeyAuth: [] }], 'protected: a token or an API key');
    t.same(document.paths['/v1/products']!.get!.security, [], 'public');
    t.match(document.paths['/v1/products']!.post!.responses, { '401': {}, '429': { $ref: '#/components/responses/RateLimited' }, '504': {} });
  });

  t.test("a service that goes away leaves its last good description", async (t) => {
    await catalog.app.close();
    const again = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json<OpenApiDocument>();
    t.equal(again.paths['/v1/products/{id}']!.get!.summary, 'A product, with its ETag');
    t.same(again, document);
  });

  t.test('while a service has never answered, its operations are still listed', async (t) => {
    t.same(operationsOf(fallback).length, operations.length);
    t.match(fallback.paths['/v1/products/{id}']!.get!, { summary: 'A product', operationId: 'getProduct', parameters: [{ name: 'id', in: 'path' }] });
  });

  t.test('Swagger UI reads the same document', async (t) => {
    const ui = await app.inject({ method: 'GET', url: '/docs/json' });
    t.equal(ui.statusCode, 200);
    t.same(ui.json(), document);
  });
});

t.test('merging components: titles become names, twins are kept once, clashes are prefixed', async (t) => {
  const documentWith = (schemas: Record<string, unknown>, ref: string): OpenApiDocument => ({
    openapi: '3.1.0',
    info: {},
    paths: { '/v1/products': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: ref } } } } } } } },
    components: { schemas },
  });
  const shared = { type: 'object', title: 'Money', properties: { cents: { type: 'integer' } } };
  const catalog = documentWith(
    { 'def-0': { type: 'object', title: 'Thing', properties: { money: { $ref: '#/components/schemas/def-1' } } }, 'def-1': shared, 'def-2': { title: 'Unused' } },
    '#/components/schemas/def-0',
  );
  const orders: OpenApiDocument = {
    ...documentWith({ 'def-0': shared, 'def-1': { type: 'string', title: 'Thing' } }, '#/components/schemas/def-1'),
    paths: { '/v1/orders': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/def-1' } } } } }, parameters: [{ $ref: '#/components/schemas/def-0' }] } } },
  };
  const merged = assembleOpenApi({
    routes: PUBLIC_ROUTES.filter((route) => (route.method === 'GET' && route.path === '/v1/products') || (route.method === 'GET' && route.path === '/v1/orders')),
    upstreamDocuments: { catalog, orders },
    version: 'test',
  });
  const schemas = merged.components!.schemas!;
  t.same(Object.keys(schemas).sort(), ['Money', 'Problem', 'ProblemFieldError', 'Thing', 'orders-Thing']);
  t.same((schemas.Thing as { properties: unknown }).properties, { money: { $ref: '#/components/schemas/Money' } }, 'references follow the renames');
  t.match(merged.paths['/v1/orders']!.get!, { responses: { '200': { content: { 'application/json': { schema: { $ref: '#/components/schemas/orders-Thing' } } } } } });
  t.notOk(schemas.Unused, 'only what the public operations use');
});
