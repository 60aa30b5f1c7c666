import t from 'tap';
import { problemTypeOf } from '@shop/contracts';
import { buildKitApp, problemOf } from './helper';

t.test('every error is problem+json with the RFC 9457 members and no errors[] unless validation failed', async (t) => {
  const { app } = await buildKitApp(t);
  const cases = [
    { request: { method: 'GET' as const, url: '/nowhere?x=1' }, status: 404, code: 'ROUTE_NOT_FOUND', instance: '/nowhere' },
    { request: { method: 'DELETE' as const, url: '/widgets?limit=5' }, status: 405, code: 'METHOD_NOT_ALLOWED', instance: '/widgets' },
    { request: { method: 'GET' as const, url: '/boom?token=abc' }, status: 500, code: 'INTERNAL_ERROR', instance: '/boom' },
    { request: { method: 'GET' as const, url: '/conflict' }, status: 412, code: 'PRECONDITION_FAILED', instance: '/conflict' },
    { request: { method: 'GET' as const, url: '/widgets/not-a-uuid' }, status: 404, code: 'RESOURCE_NOT_FOUND', instance: '/widgets/not-a-uuid' },
  ];
  for (const { request, status, code, instance } of cases) {
    const response = await app.inject(request);
    t.equal(response.statusCode, status, `${request.method} ${request.url}`);
    t.equal(response.headers['content-type'], 'application/problem+json', `${code} content type`);
    const problem = problemOf(response);
    t.match(problem, { type: problemTypeOf(code as never), title: String, status, code, requestId: String, instance }, code);
    t.equal(problem.requestId, response.headers['x-request-id'], `${code} carries the response's request id`);
    t.notOk('errors' in problem, `${code} has no errors[]`);
    t.notMatch(response.body, /stack|at .*\.ts:\d+/, `${code} has no stack trace`);
  }
});

t.test('an AppError keeps its detail and headers', async (t) => {
  const { app } = await buildKitApp(t);
  const response = await app.inject({ method: 'GET', url: '/conflict' });
  t.equal(response.statusCode, 412);
  t.equal(response.headers.etag, '"v2"');
  t.match(problemOf(response), { code: 'PRECONDITION_FAILED', title: 'The resource has changed', detail: 'The widget changed' });
});

t.test('validation failures', async (t) => {
  const { app } = await buildKitApp(t);

  t.test('are 400 REQUEST_VALIDATION_FAILED naming every bad field with a JSON pointer', async (t) => {
    const response = await app.inject({ method: 'POST', url: '/widgets', payload: { quantity: 0, email: 'nope' } });
    t.equal(response.statusCode, 400);
    t.equal(response.headers['content-type'], 'application/problem+json');
    const problem = problemOf(response);
    t.match(problem, { code: 'REQUEST_VALIDATION_FAILED', status: 400, instance: '/widgets' });
    const paths = problem.errors?.map((error) => error.path).sort();
    t.same(paths, ['/body/email', '/body/name', '/body/quantity'], 'all errors at once, not just the first');
    for (const error of problem.errors ?? []) t.type(error.message, 'string');
  });

  t.test('unknown body properties are rejected, not silently removed', async (t) => {
    const response = await app.inject({ method: 'POST', url: '/widgets', payload: { name: 'w', quantity: 1, role: 'admin' } });
    t.equal(response.statusCode, 400);
    t.match(problemOf(response).errors, [{ path: '/body/role' }]);
  });

  t.test('body types are not coerced', async (t) => {
    const response = await app.inject({ method: 'POST', url: '/widgets', payload: { name: 'w', quantity: '12' } });
    t.equal(response.statusCode, 400);
    t.match(problemOf(response).errors, [{ path: '/body/quantity' }]);
    const number = await app.inject({ method: 'POST', url: '/widgets', payload: { name: 12, quantity: 12 } });
    t.equal(number.statusCode, 400, 'nor a number into a string');
    t.match(problemOf(number).errors, [{ path: '/body/name' }]);
  });

  t.test('a valid body is accepted as sent', async (t) => {
    const response = await app.inject({ method: 'POST', url: '/widgets', payload: { name: 'w', quantity: 12, email: 'a@example.test' } });
    t.equal(response.statusCode, 201);
    t.same(response.json(), { name: 'w', quantity: 12, email: 'a@example.test' });
  });

  t.test('querystrings are coerced, defaulted and validated', async (t) => {
    const coerced = await app.inject({ method: 'GET', url: '/widgets?limit=12' });
    t.equal(coerced.statusCode, 200);
    t.same(coerced.json(), { query: { limit: 12 } });
    const defaulted = await app.inject({ method: 'GET', url: '/widgets' });
    t.same(defaulted.json(), { query: { limit: 20 } });
    for (const limit of ['0', '101', 'ten', '1.5']) {
      const response = await app.inject({ method: 'GET', url: `/widgets?limit=${limit}` });
      t.equal(response.statusCode, 400, `limit=${limit}`);
      t.match(problemOf(response), { code: 'REQUEST_VALIDATION_FAILED', errors: [{ path: '/querystring/limit' }] });
    }
  });

  t.test('a property name is escaped as a JSON pointer token', async (t) => {
    const response = await app.inject({ method: 'POST', url: '/widgets', payload: { name: 'w', quantity: 1, 'a/b~c': true } });
    t.equal(response.statusCode, 400);
    t.match(problemOf(response).errors, [{ path: '/body/a~1b~0c' }]);
  });
});

t.test('bodies', async (t) => {
  const { app } = await buildKitApp(t);
  const id = '3f1c2a4e-8b7d-4c6e-9a0b-1d2e3f4a5b6c';

  t.test('over 1 MiB is 413 REQUEST_BODY_TOO_LARGE', async (t) => {
    const payload = JSON.stringify({ name: 'x'.repeat(1024 * 1024), quantity: 1 });
    const response = await app.inject({ method: 'POST', url: '/widgets', payload, headers: { 'content-type': 'application/json' } });
    t.equal(response.statusCode, 413);
    t.equal(response.headers['content-type'], 'application/problem+json');
    t.match(problemOf(response), { code: 'REQUEST_BODY_TOO_LARGE', status: 413 });
  });

  t.test('just under 1 MiB is parsed', async (t) => {
    const filler = 'x'.repeat(1024 * 1024 - 64);
    const response = await app.inject({ method: 'POST', url: '/widgets', payload: { name: filler, quantity: 1 } });
    t.equal(response.statusCode, 201);
  });

  t.test('text/plain and other content types are 415', async (t) => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']) {
      const response = await app.inject({ method: 'POST', url: '/widgets', payload: '{"name":"w","quantity":1}', headers: { 'content-type': type } });
      t.equal(response.statusCode, 415, type);
      t.equal(response.headers['content-type'], 'application/problem+json', type);
      t.equal(problemOf(response).code, 'UNSUPPORTED_MEDIA_TYPE', type);
    }
  });

  t.test('application/merge-patch+json is accepted and validated like JSON', async (t) => {
    const ok = await app.inject({ method: 'PATCH', url: `/widgets/${id}`, payload: '{"quantity":3}', headers: { 'content-type': 'application/merge-patch+json' } });
    t.equal(ok.statusCode, 200);
    t.same(ok.json(), { id, patch: { quantity: 3 } });
    const bad = await app.inject({ method: 'PATCH', url: `/widgets/${id}`, payload: '{"quantity":"3"}', headers: { 'content-type': 'application/merge-patch+json' } });
    t.equal(bad.statusCode, 400);
    t.match(problemOf(bad).errors, [{ path: '/body/quantity' }]);
    const malformed = await app.inject({ method: 'PATCH', url: `/widgets/${id}`, payload: '{"quantity":', headers: { 'content-type': 'application/merge-patch+json' } });
    t.equal(malformed.statusCode, 400);
    t.equal(problemOf(malformed).code, 'REQUEST_MALFORMED_BODY');
  });

  t.test('malformed JSON is 400 REQUEST_MALFORMED_BODY', async (t) => {
    for (const payload of ['{"name": "w",', 'not json', '{"__proto__": {"admin": true}}']) {
      const response = await app.inject({ method: 'POST', url: '/widgets', payload, headers: { 'content-type': 'application/json' } });
      t.equal(response.statusCode, 400, payload);
      t.equal(response.headers['content-type'], 'application/problem+json');
      t.equal(problemOf(response).code, 'REQUEST_MALFORMED_BODY', payload);
    }
  });

  t.test('an empty JSON body is 400, not 500', async (t) => {
    const response = await app.inject({ method: 'POST', url: '/widgets', payload: '', headers: { 'content-type': 'application/json' } });
    t.equal(response.statusCode, 400);
    t.match(problemOf(response).code, /^REQUEST_(MALFORMED_BODY|VALIDATION_FAILED)$/);
  });
});

t.test('an unexpected error is a bare 500, logged in full with the request id', async (t) => {
  const { app, logs } = await buildKitApp(t);
  const response = await app.inject({ method: 'GET', url: '/boom', headers: { 'x-request-id': 'crash-1' } });
  t.equal(response.statusCode, 500);
  t.equal(response.headers['content-type'], 'application/problem+json');
  t.same(problemOf(response), {
    type: problemTypeOf('INTERNAL_ERROR'),
    title: 'Internal server error',
    status: 500,
    instance: '/boom',
    code: 'INTERNAL_ERROR',
    requestId: 'crash-1',
  });
  t.notMatch(response.body, /secret detail|SQL|stack|Error:/);

  const logged = logs.lines.find((line) => line.level === 50);
  t.ok(logged, 'logged at error level');
  t.equal(logged?.requestId, 'crash-1');
  t.match(logged?.err, { message: 'secret detail from SQL', stack: /secret detail from SQL/ });
});
