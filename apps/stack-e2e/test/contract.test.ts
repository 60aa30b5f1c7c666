import t from 'tap';
import WebSocket from 'ws';
import { ApiClient, bearer, createCategory, createProduct, setUpActors } from './support/client';
import { contractCases } from './support/contract-cases';
import { problemShapeProblems } from './support/problem-shape';
import { documentedResponse, fetchOpenApi, mediaTypeOf, operationsOf, ResponseChecker, type Operation } from './support/openapi';
import { RawConnection, type RawResponse } from './support/raw-http';
import { GENEROUS_LIMITS, startStack } from './stack';

/**
 * The public contract, checked from outside: every operation of the OpenAPI document the gateway
 * serves is called through the running gateway over real sockets, for its success and its main
 * failures, and each answer is checked against what the document says for that status
 * (media type and body schema), plus the headers the contract promises.
 */
t.test('every public operation, through the gateway, as documented', async (t) => {
  const stack = await startStack(t, { env: GENEROUS_LIMITS });
  const client = new ApiClient(stack.gatewayUrl);
  const document = await fetchOpenApi(stack.gatewayUrl);
  const operations = operationsOf(document);
  const checker = new ResponseChecker(document);
  const actors = await setUpActors(client, stack.admin);
  const category = await createCategory(client, actors.admin.token);
  const product = await createProduct(client, actors.admin.token, { categoryId: category.id, stock: 100_000 });
  const cases = contractCases({ client, actors, product, category });
  /** Statuses seen per operation, for the coverage check at the end. */
  const seen = new Map<string, Set<number>>();
  const record = (operationId: string, status: number) => {
    if (!seen.has(operationId)) seen.set(operationId, new Set());
    seen.get(operationId)!.add(status);
  };

  t.test('the document lists no operation twice', async (t) => {
    const ids = operations.map((operation) => operation.operationId);
    t.same(ids.filter((id, index) => ids.indexOf(id) !== index), []);
  });

  for (const operation of operations) {
    const operationCases = cases[operation.operationId];
    if (operationCases === undefined) continue; // reported by the coverage check below
    t.test(`${operation.operationId}: ${operation.method} ${operation.path}`, async (t) => {
      for (const contractCase of operationCases) {
        const request = await contractCase.request();
        const response = await client.send(request);
        record(operation.operationId, response.status);
        const label = `${contractCase.name}: ${request.method} ${request.path} → ${response.status}`;
        const problems: string[] = [];
        if (response.status !== contractCase.status) problems.push(`expected ${contractCase.status}; body ${response.text.slice(0, 300)}`);
        const body = request.method === 'HEAD' ? undefined : response.json ?? (response.text === '' ? undefined : response.text);
        if (request.method === 'HEAD' && response.text !== '') problems.push('a HEAD answer with a body');
        // A HEAD answer has the GET's headers and no body: only its status must be documented.
        if (request.method === 'HEAD') problems.push(...(documentedResponse(operation, response.status) ? [] : [`status ${response.status} is not documented`]));
        else problems.push(...checker.check(operation, response.status, response.headers.get('content-type'), body));
        problems.push(...commonHeaderProblems(operation, response.status, response.headers));
        if (response.status >= 400 && request.method !== 'HEAD') problems.push(...problemShapeProblems(response.status, response.json, contractCase.code));
        if (contractCase.expect) problems.push(...(await contractCase.expect(response)));
        t.same(problems, [], label);
      }
    });
  }

  t.test('orderEvents: the WebSocket upgrade answers 101 and pushes the caller’s orders', async (t) => {
    const socket = new WebSocket(`${stack.gatewayUrl.replace(/^http/, 'ws')}/v1/orders/events`, { headers: bearer(actors.customer.token) });
    const upgraded = new Promise<number>((resolve, reject) => {
      socket.once('upgrade', (response) => resolve(response.statusCode ?? 0));
      socket.once('unexpected-response', (_request, response) => reject(new Error(`answered ${response.statusCode}`)));
      socket.once('error', reject);
    });
    t.teardown(() => socket.terminate());
    const status = await upgraded;
    record('orderEvents', status);
    t.equal(status, 101);
    const message = new Promise<{ type: string; order: { id: string } }>((resolve) => socket.once('message', (data) => resolve(JSON.parse(data.toString()))));
    const order = await client.expectOk<{ id: string }>({ method: 'POST', path: '/v1/orders', headers: bearer(actors.customer.token), body: { items: [{ productId: product.id, quantity: 1 }] } });
    t.match(await message, { type: 'order.updated', order: { id: order.id } });
  });

  t.test('a wrong method on a documented path: 405 with Allow naming exactly the documented methods', async (t) => {
    const byPath = new Map<string, Operation[]>();
    for (const operation of operations) byPath.set(operation.path, [...(byPath.get(operation.path) ?? []), operation]);
    for (const [path, pathOperations] of byPath) {
      const documented = new Set(pathOperations.map((operation) => operation.method));
      if (documented.has('GET')) documented.add('HEAD');
      const wrong = ['PUT', 'DELETE', 'PATCH', 'POST'].find((method) => !documented.has(method));
      if (wrong === undefined) continue;
      const concrete = path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
      const response = await client.send({ method: wrong, path: concrete, headers: bearer(actors.admin.token) });
      const allow = new Set((response.headers.get('allow') ?? '').split(',').map((method) => method.trim()).filter(Boolean));
      t.same(
        { status: response.status, allow: [...allow].sort(), problems: checker.checkBody(`${wrong} ${path}`, checker.problemResponse(), response.headers.get('content-type'), response.json) },
        { status: 405, allow: [...documented].sort(), problems: [] },
        `${wrong} ${path}`,
      );
    }
  });

  t.test('no route outside the document is reachable', async (t) => {
    const expected: [string, string][] = [
      ['/v1/nothing-here', 'ROUTE_NOT_FOUND'],
      ['/internal/v1/api-keys/exchange', 'ROUTE_NOT_FOUND'],
      ['/v1/auth/internal', 'ROUTE_NOT_FOUND'],
      // Matches /v1/products/{id}: an id that is no product.
      ['/v1/products/health', 'RESOURCE_NOT_FOUND'],
    ];
    for (const [path, code] of expected) {
      const response = await client.send({ method: 'GET', path });
      t.same({ status: response.status, problems: problemShapeProblems(response.status, response.json, code) }, { status: 404, problems: [] }, path);
    }
  });

  t.test('framing over one keep-alive connection: 304, 204 and HEAD answers end at their headers', async (t) => {
    const connection = await RawConnection.open(stack.gatewayUrl);
    t.teardown(() => connection.close());
    const json = { 'content-type': 'application/json', authorization: `Bearer ${actors.admin.token}` };
    const productPath = `/v1/products/${product.id}`;
    const full = await connection.request({ method: 'GET', path: productPath });
    t.equal(full.status, 200, 'GET: 200');
    const etag = full.headers.etag ?? '';

    const steps: { name: string; send: () => Promise<RawResponse>; status: number; check?: (response: RawResponse) => string[] }[] = [
      {
        name: 'If-None-Match → 304',
        send: () => connection.request({ method: 'GET', path: productPath, headers: { 'if-none-match': etag } }),
        status: 304,
        check: (response) => [
          ...(response.headers.etag === etag ? [] : [`ETag ${response.headers.etag}, expected ${etag}`]),
          ...(response.headers['transfer-encoding'] === undefined ? [] : ['Transfer-Encoding on a 304']),
          // RFC 9110 §8.6: a 304 may only state the length the 200 would have had.
          ...(response.headers['content-length'] === undefined || response.headers['content-length'] === full.headers['content-length']
            ? []
            : [`Content-Length ${response.headers['content-length']} on a 304, while the representation has ${full.headers['content-length']}`]),
        ],
      },
      {
        name: 'HEAD → the GET headers without the body',
        send: () => connection.request({ method: 'HEAD', path: productPath }),
        status: 200,
        check: (response) =>
          response.headers['content-length'] === undefined || response.headers['content-length'] === full.headers['content-length']
            ? []
            : [`HEAD says Content-Length ${response.headers['content-length']}, GET sent ${full.headers['content-length']}`],
      },
      {
        name: 'HEAD on a list',
        send: () => connection.request({ method: 'HEAD', path: '/v1/products?limit=3' }),
        status: 200,
      },
      {
        name: 'DELETE → 204',
        send: async () => {
          const doomed = await createProduct(client, actors.admin.token);
          return connection.request({ method: 'DELETE', path: `/v1/products/${doomed.id}`, headers: { authorization: json.authorization } });
        },
        status: 204,
        check: (response) => [
          ...(response.headers['content-length'] === undefined || response.headers['content-length'] === '0' ? [] : [`Content-Length ${response.headers['content-length']} on a 204`]),
          ...(response.headers['transfer-encoding'] === undefined ? [] : ['Transfer-Encoding on a 204']),
        ],
      },
      {
        name: 'logout → 204',
        send: async () => {
          const { refreshToken } = await client.expectOk<{ refreshToken: string }>({ method: 'POST', path: '/v1/auth/login', body: { email: actors.customer.email, password: actors.customer.password } });
          return connection.request({ method: 'POST', path: '/v1/auth/logout', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken }) });
        },
        status: 204,
      },
      {
        name: 'category If-None-Match → 304',
        send: async () => {
          const etagOfCategory = (await client.send({ method: 'GET', path: `/v1/categories/${category.id}` })).headers.get('etag') ?? '';
          return connection.request({ method: 'GET', path: `/v1/categories/${category.id}`, headers: { 'if-none-match': etagOfCategory } });
        },
        status: 304,
      },
    ];
    for (const step of steps) {
      let response: RawResponse;
      try {
        response = await step.send();
      } catch (error) {
        t.fail(`${step.name}: ${(error as Error).message}`);
        return;
      }
      t.same({ status: response.status, problems: step.check?.(response) ?? [] }, { status: step.status, problems: [] }, step.name);
      const leftover = await connection.leftover(50);
      t.equal(leftover.length, 0, `${step.name}: no bytes after the answer (${JSON.stringify(leftover.toString('latin1').slice(0, 80))})`);
      // The next request on the same connection must still be answered, and answered right.
      const next = await connection.request({ method: 'GET', path: '/health' }).catch((error: Error) => error);
      t.equal(next instanceof Error ? next.message : next.status, 200, `${step.name}: the connection still works`);
      if (next instanceof Error || connection.isClosed) return;
    }
  });

  t.test('coverage: every operation in the document has contract cases, for success and failure', async (t) => {
    const documentedIds = new Set(operations.map((operation) => operation.operationId));
    t.same(
      operations.filter((operation) => cases[operation.operationId] === undefined).map((operation) => operation.operationId),
      [],
      'operations without contract cases (add them to test/support/contract-cases.ts)',
    );
    t.same(Object.keys(cases).filter((id) => !documentedIds.has(id)), [], 'contract cases of operations the document no longer has');
    for (const operation of operations) {
      const statuses = [...(seen.get(operation.operationId) ?? [])];
      t.ok(statuses.some((status) => status < 400), `${operation.operationId}: a success was seen (${statuses.join(', ') || 'nothing'})`);
      const documentsFailures = Object.keys(operation.responses).some((status) => status.startsWith('4') && status !== '429');
      if (documentsFailures) t.ok(statuses.some((status) => status >= 400 && status < 500), `${operation.operationId}: a failure was seen (${statuses.join(', ')})`);
    }
  });
});

/** What every answer of the gateway carries, whatever the operation. */
function commonHeaderProblems(operation: Operation, status: number, headers: Headers): string[] {
  const problems: string[] = [];
  if (!headers.get('x-request-id')) problems.push('no x-request-id');
  if (status === 401 && !headers.get('www-authenticate')) problems.push('a 401 without WWW-Authenticate');
  if (status === 429 && !headers.get('retry-after')) problems.push('a 429 without Retry-After');
  // The gateway's own routes are not rate limited; every proxied one is.
  if (!operation.path.startsWith('/health') && !operation.path.startsWith('/docs') && headers.get('ratelimit-limit') === null) problems.push('no RateLimit-Limit');
  if (status >= 400 && mediaTypeOf(headers.get('content-type')) !== 'application/problem+json') problems.push(`an error as ${headers.get('content-type')}, not application/problem+json`);
  const documented = documentedResponse(operation, status);
  for (const name of Object.keys(documented?.headers ?? {})) if (headers.get(name) === null) problems.push(`documented header ${name} missing`);
  return problems;
}
