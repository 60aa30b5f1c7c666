import { randomUUID } from 'node:crypto';
import { ProblemSchema } from '@shop/contracts';
import t from 'tap';
import { buildKitApp, WidgetSchema } from './helper';

t.test('the document says what the kit does: problem+json errors, 413 and 415 on bodies, merge patches', async (t) => {
  const { app } = await buildKitApp(t);
  app.put('/gadgets', { schema: { body: WidgetSchema, response: { 200: WidgetSchema, 400: ProblemSchema } } }, async (request) => request.body);
  const document = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json<{ paths: Record<string, Record<string, Record<string, unknown>>> }>();
  const put = document.paths['/gadgets']!.put!;
  t.match(put.responses, {
    '200': { content: { 'application/json': {} } },
    '400': { content: { 'application/problem+json': { schema: { required: ['type', 'title', 'status', 'code', 'requestId'] } } } },
    '413': { content: { 'application/problem+json': { schema: { required: ['type', 'title', 'status', 'code', 'requestId'] } } } },
    '415': { content: { 'application/problem+json': {} } },
  });
  t.notOk((put.responses as Record<string, { content: Record<string, unknown> }>)['400']!.content['application/json'], 'errors are not documented as plain JSON');
  t.match(document.paths['/widgets/{id}']!.patch!.requestBody, { content: { 'application/json': {}, 'application/merge-patch+json': { schema: { type: 'object' } } } });
  t.notOk(document.paths['/widgets']!.get!.responses && (document.paths['/widgets']!.get!.responses as Record<string, unknown>)['413'], 'no 413 where no body is taken');
  const patched = await app.inject({ method: 'PATCH', url: `/widgets/${randomUUID()}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: '{"quantity":2}' });
  t.equal(patched.statusCode, 200, 'the documented merge-patch type is accepted');
  const refused = await app.inject({ method: 'PUT', url: '/gadgets', headers: { 'content-type': 'text/plain' }, payload: 'x' });
  t.same([refused.statusCode, refused.headers['content-type']], [415, 'application/problem+json'], 'the documented 415 is what comes');
});
