import t from 'tap';
import { ApiClient, setUpActors } from './support/client';
import { formatCounts, formatFailure, fuzzOperations } from './support/fuzz/fuzzer';
import { FAMILIES } from './support/fuzz/requests';
import { fuzzContext } from './support/fuzz/setup';
import { fetchOpenApi, operationsOf, ResponseChecker } from './support/openapi';
import { GENEROUS_LIMITS, startStack } from './stack';

/**
 * Property-based fuzzing of every operation of the served OpenAPI document, through the gateway:
 * valid inputs generated from the schemas must succeed (or meet a documented business outcome),
 * and hostile ones (wrong types, numbers beyond any column, NUL and lone surrogates, huge and
 * deeply nested values, duplicate keys, unknown properties, bad ids and tampered cursors, wrong
 * content types and charsets, bad credentials) must never get a 5xx, only a problem+json with a
 * stable code. Seeded and bounded here; `npm run fuzz` runs longer.
 */
t.test('fuzzing every public operation from the OpenAPI document', async (t) => {
  const stack = await startStack(t, { env: GENEROUS_LIMITS });
  const client = new ApiClient(stack.gatewayUrl);
  const document = await fetchOpenApi(stack.gatewayUrl);
  const checker = new ResponseChecker(document);
  const actors = await setUpActors(client, stack.admin);
  const context = await fuzzContext(client, actors, checker);
  const operations = operationsOf(document);
  const seed = Number(process.env.FUZZ_SEED ?? 20_261_128);
  // Bounded for npm test (about a minute on a busy two-core machine); `npm run fuzz` goes further.
  const runsPerOperation = Number(process.env.FUZZ_RUNS ?? 100);
  const started = Date.now();
  const report = await fuzzOperations(operations, {
    gatewayUrl: stack.gatewayUrl,
    credentials: { adminToken: actors.admin.token, customerToken: actors.customer.token },
    checker,
    context,
    runsPerOperation,
    seed,
    concurrency: 6,
    familyTimeLimitMs: 15_000,
  });
  t.comment(`${report.requests} requests in ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${seed}\n${formatCounts(report)}`);

  // A family stops at its first failure and every family has a time limit: still, most must have run.
  t.ok(report.requests >= (operations.length * runsPerOperation) / 3, `enough requests were sent (${report.requests})`);
  for (const operation of operations) {
    t.ok(report.counts.has(operation.operationId), `${operation.operationId} was fuzzed`);
    for (const family of FAMILIES) {
      const failure = report.failures.find((candidate) => candidate.operationId === operation.operationId && candidate.family === family);
      if (failure !== undefined) t.fail(formatFailure(failure, stack.gatewayUrl));
    }
  }
});
