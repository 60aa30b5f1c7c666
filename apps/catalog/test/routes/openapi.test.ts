import t from 'tap';
import { build } from '../helper';

t.test('the OpenAPI document describes every public catalog route', async (t) => {
  const { app } = await build(t);
  const response = await app.inject({ method: 'GET', url: '/docs/openapi.json' });
  t.equal(response.statusCode, 200);
  const document = response.json<{ paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>> }>();
  const routes = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
  t.same(routes.sort(), [
    'DELETE /v1/categories/{id}',
    'DELETE /v1/products/{id}',
    'GET /v1/categories',
    'GET /v1/categories/{id}',
    'GET /v1/products',
    'GET /v1/products/{id}',
    'PATCH /v1/categories/{id}',
    'PATCH /v1/products/{id}',
    'POST /v1/categories',
    'POST /v1/products',
    'PUT /v1/products/{id}',
  ]);
  const product = document.paths['/v1/products/{id}']!;
  t.ok(product.get?.responses['304'], 'conditional reads are documented');
  t.ok(product.patch?.security, 'writes say they need a token');
  t.notOk(product.get?.security, 'reads are public');
  t.ok(product.patch?.responses['412']);
});
