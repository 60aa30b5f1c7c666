import { Access, defineOperations, IdParamsSchema, ProblemSchema, type OperationAccess } from '@shop/contracts';
import { Type } from '@sinclair/typebox';
import type { onRequestAsyncHookHandler } from 'fastify';
import t from 'tap';
import { AppError, createService, operationCoverage, registerOperations, type AccessControl, type ServiceInstance } from '../src/index';
import { problemOf, type Teardown } from './helper';

const WidgetSchema = Type.Object({ id: Type.String(), name: Type.String() }, { additionalProperties: false });
const WIDGETS = defineOperations('catalog', {
  getWidget: {
    method: 'GET',
    path: '/v1/widgets/:id',
    tags: ['products'],
    summary: 'One widget',
    access: Access.anyone,
    schema: { params: IdParamsSchema, response: { 200: WidgetSchema, 404: ProblemSchema } },
  },
  renameWidget: {
    method: 'POST',
    path: '/v1/widgets/:id/rename',
    tags: ['products'],
    summary: 'Rename a widget',
    access: Access.scopes('catalog:write'),
    bodyOptional: true,
    schema: { params: IdParamsSchema, body: Type.Object({ name: Type.Optional(Type.String()) }, { additionalProperties: false }), response: { 200: WidgetSchema } },
  },
});
const ID = '00000000-0000-4000-8000-000000000001';

/** A kit service whose access check is a stand-in: `x-caller: writer` holds every scope, anything else none. */
async function buildService(t: Teardown): Promise<{ app: ServiceInstance & AccessControl; accessAsked: OperationAccess[] }> {
  const app = await createService({ name: 'operations-test', version: '0.0.1', description: 'registerOperations under test', logLevel: 'silent', trustProxy: false });
  t.teardown(() => app.close());
  const accessAsked: OperationAccess[] = [];
  const requireAccess = (access: OperationAccess): onRequestAsyncHookHandler | null => {
    accessAsked.push(access);
    if (access.caller === 'anyone') return null;
    return async (request) => {
      if (request.headers['x-caller'] !== 'writer') throw new AppError('AUTH_SCOPE_REQUIRED');
    };
  };
  app.decorate('requireAccess', requireAccess);
  return { app: app as ServiceInstance & AccessControl, accessAsked };
}

t.test('registerOperations: the route is the declared operation', async (t) => {
  const { app, accessAsked } = await buildService(t);
  const order: string[] = [];
  registerOperations(app, WIDGETS, {
    getWidget: { handler: async (request) => ({ id: request.params.id, name: 'lamp', secret: 'not in the schema' }) },
    renameWidget: {
      onRequest: async () => {
        order.push('own hook');
      },
      handler: async (request) => {
        order.push('handler');
        return { id: request.params.id, name: request.body.name ?? 'unchanged' };
      },
    },
  });

  t.same(accessAsked, [Access.anyone, Access.scopes('catalog:write')], 'access comes from the declaration');
  const read = await app.inject({ method: 'GET', url: `/v1/widgets/${ID}` });
  t.same(read.json(), { id: ID, name: 'lamp' }, "the declared response schema serialises: nothing undeclared leaks");
  t.equal((await app.inject({ method: 'GET', url: '/v1/widgets/not-a-uuid' })).statusCode, 404, 'the declared params schema validates');

  const refused = await app.inject({ method: 'POST', url: `/v1/widgets/${ID}/rename`, payload: { name: 'x' } });
  t.equal(refused.statusCode, 403);
  t.equal(problemOf(refused).code, 'AUTH_SCOPE_REQUIRED');
  t.same(order, ['own hook'], "the declared access is checked after the route's own onRequest, before the handler");

  const withoutBody = await app.inject({ method: 'POST', url: `/v1/widgets/${ID}/rename`, headers: { 'x-caller': 'writer' } });
  t.same(withoutBody.json(), { id: ID, name: 'unchanged' }, 'an optional body left out is the empty object');
  const extra = await app.inject({ method: 'POST', url: `/v1/widgets/${ID}/rename`, headers: { 'x-caller': 'writer' }, payload: { colour: 'red' } });
  t.equal(problemOf(extra).code, 'REQUEST_VALIDATION_FAILED', 'and a field sent is still refused');

  const document = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json<{ paths: Record<string, Record<string, Record<string, unknown>>> }>();
  t.match(document.paths['/v1/widgets/{id}/rename']!.post, { operationId: 'renameWidget', summary: 'Rename a widget', security: [{ bearerAuth: [] }] }, "the service's own document says the same");
});

t.test('registerOperations refuses what the table does not declare', async (t) => {
  const { app } = await buildService(t);
  t.throws(() => registerOperations(app, WIDGETS, { nothing: { handler: async () => ({}) } } as never), /nothing is not a declared operation/);
  t.throws(() => registerOperations(app, WIDGETS, { getWidget: { wsHandler: () => undefined } }), /takes a wsHandler, any other a handler/);
});

t.test('operationCoverage: served routes against the declared operations', async (t) => {
  t.test('all empty when they match; internal routes, probes, documents and HEAD are outside the table', async (t) => {
    const { app } = await buildService(t);
    registerOperations(app, WIDGETS, { getWidget: { handler: async () => ({ id: ID, name: 'lamp' }) }, renameWidget: { handler: async () => ({ id: ID, name: 'lamp' }) } });
    app.post('/internal/v1/widgets/reindex', async () => ({ ok: true }));
    t.same(operationCoverage(app, WIDGETS), { undeclared: [], unserved: [], unregistered: [] });
  });

  t.test('a public route the table does not declare, and an operation nobody serves', async (t) => {
    const { app } = await buildService(t);
    registerOperations(app, WIDGETS, { getWidget: { handler: async () => ({ id: ID, name: 'lamp' }) } });
    app.delete('/v1/widgets/:id', async () => null);
    t.same(operationCoverage(app, WIDGETS), { undeclared: ['DELETE /v1/widgets/:id'], unserved: ['POST /v1/widgets/:id/rename'], unregistered: [] });
  });

  t.test('a declared route registered by hand, not from the table', async (t) => {
    const { app } = await buildService(t);
    registerOperations(app, WIDGETS, { getWidget: { handler: async () => ({ id: ID, name: 'lamp' }) } });
    app.post('/v1/widgets/:id/rename', async () => ({ id: ID, name: 'lamp' }));
    t.same(operationCoverage(app, WIDGETS), { undeclared: [], unserved: [], unregistered: ['POST /v1/widgets/:id/rename'] });
  });
});
