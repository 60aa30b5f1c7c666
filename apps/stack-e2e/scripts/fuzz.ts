/**
 * The long fuzzing run: every operation of the gateway's OpenAPI document, then GraphQL at
 * /graphql (`--only graphql` for it alone), many more requests than `npm test` sends. Prints
 * counts by operation and status class, and each failure shrunk to its smallest request, as curl.
 *
 *   npm run fuzz -- --runs 2000 --seed 42 [--concurrency 4] [--only createProduct,listProducts]
 *
 * Against a stack started here (like the end-to-end suite), or `GATEWAY_URL` (with
 * `ADMIN_EMAIL` / `ADMIN_PASSWORD`) for one already running, e.g. the compose stack.
 */
import { parseArgs } from 'node:util';
import { ApiClient, setUpActors } from '../test/support/client';
import { formatCounts, formatFailure, fuzzOperations } from '../test/support/fuzz/fuzzer';
import { fuzzGraphql } from '../test/support/fuzz/graphql-fuzzer';
import { fuzzContext } from '../test/support/fuzz/setup';
import { fetchOpenApi, operationsOf, ResponseChecker } from '../test/support/openapi';
import { GENEROUS_LIMITS, startStack } from '../test/stack';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    only: { type: 'string' },
  },
});
const runsPerOperation = Number(values.runs);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
if (!Number.isInteger(runsPerOperation) || runsPerOperation < 1 || !Number.isInteger(seed)) {
  process.stderr.write('usage: npm run fuzz -- [--runs N] [--seed N] [--concurrency N] [--only operationId,...]\n');
  process.exit(2);
}

const teardowns: (() => unknown)[] = [];
let exitCode = 1;
try {
  const stack = await startStack({ teardown: (fn) => teardowns.push(fn) }, { env: GENEROUS_LIMITS });
  const client = new ApiClient(stack.gatewayUrl);
  const document = await fetchOpenApi(stack.gatewayUrl);
  const checker = new ResponseChecker(document);
  const actors = await setUpActors(client, stack.admin);
  const context = await fuzzContext(client, actors, checker);
  const only = values.only?.split(',');
  const operations = operationsOf(document).filter((operation) => only === undefined || only.includes(operation.operationId));
  process.stdout.write(`fuzzing ${operations.length} operations through ${stack.gatewayUrl}, ${runsPerOperation} requests each, seed ${seed}\n`);
  const started = Date.now();
  const report = await fuzzOperations(
    operations,
    {
      gatewayUrl: stack.gatewayUrl,
      credentials: { adminToken: actors.admin.token, customerToken: actors.customer.token },
      checker,
      context,
      runsPerOperation,
      seed,
      concurrency: Number(values.concurrency),
      familyTimeLimitMs: 600_000,
    },
    (failure) => process.stdout.write(`\nFAILED ${formatFailure(failure, stack.gatewayUrl)}\n`),
  );
  process.stdout.write(`\n${report.requests} requests in ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${seed}\n${formatCounts(report)}\n`);
  process.stdout.write(`${report.failures.length} failing (operation, input family) pairs\n`);
  if (report.failures.length > 0) process.stdout.write('ADMIN_TOKEN and CUSTOMER_TOKEN in the curl lines: access tokens from POST /v1/auth/login.\n');
  // GraphQL at /graphql: as many requests as one operation gets, stopping at the first failure.
  let graphqlFailed = false;
  if (only === undefined || only.includes('graphql')) {
    try {
      const statuses = await fuzzGraphql(client, { customer: actors.customer.token, admin: actors.admin.token }, { runs: runsPerOperation, seed });
      process.stdout.write(`graphql: ${runsPerOperation} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    } catch (error) {
      graphqlFailed = true;
      process.stdout.write(`\nFAILED graphql ${(error as Error).message}\n`);
    }
  }
  exitCode = report.failures.length === 0 && !graphqlFailed ? 0 : 1;
} finally {
  for (const teardown of teardowns.reverse()) await teardown();
}
process.exit(exitCode);
