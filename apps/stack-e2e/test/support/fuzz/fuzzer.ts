import { ErrorCodes } from '@shop/contracts';
import fc from 'fast-check';
import { type Operation, mediaTypeOf, type ResponseChecker } from '../openapi';
import { problemShapeProblems } from '../problem-shape';
import { type Actor, FAMILIES, type Family, type FuzzContext, type FuzzRequest, requestsFor } from './requests';

export interface Credentials {
  customerToken: string;
  adminToken: string;
}

export interface FuzzOptions {
  gatewayUrl: string;
  credentials: Credentials;
  checker: ResponseChecker;
  context: FuzzContext;
  /** Requests per operation, shared among the families that apply to it. */
  runsPerOperation: number;
  seed: number;
  /** Operations fuzzed at the same time. */
  concurrency?: number;
  /** Upper bound on one family's run, shrinking included. */
  familyTimeLimitMs?: number;
}

/** Counts by operation and status class, and every family that found a failure. */
export interface FuzzReport {
  counts: Map<string, Record<string, number>>;
  failures: FuzzFailure[];
  requests: number;
}

export interface FuzzFailure {
  operationId: string;
  family: Family;
  /** The shrunk counterexample. */
  request: FuzzRequest;
  problems: string[];
  status: number;
  /** How to replay it with the seed and path fast-check reports. */
  seed: number;
  path?: string;
}

/** Where defects hide most, more of the operation's requests go: text that reaches the database, query strings. */
const FAMILY_WEIGHTS: Partial<Record<Family, number>> = { valid: 1.5, 'body-text': 2, query: 2, cursor: 1.5 };

/** Business outcomes: documented, not a refusal of the input, and not a failure of the server. */
const REFUSALS = new Set([400, 401, 403, 413, 415, 429]);
/** Codes that refuse a request valid by the document because of a rule the schema cannot state. */
const BUSINESS_REFUSAL_CODES = new Set(['ORDERS_DUPLICATE_PRODUCT', 'AUTH_INVALID_CREDENTIALS', 'AUTH_INVALID_REFRESH_TOKEN']);
const KNOWN_CODES = new Set(Object.keys(ErrorCodes));

const UNSIGNED_TOKEN = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${Buffer.from('{"sub":"x","scope":"users:admin catalog:write","role":"admin"}').toString('base64url')}.`;

export function credentialHeaders(actor: Actor, credentials: Credentials): Record<string, string> {
  switch (actor) {
    case 'anonymous':
      return {};
    case 'customer':
      return { authorization: `Bearer ${credentials.customerToken}` };
    case 'admin':
      return { authorization: `Bearer ${credentials.adminToken}` };
    case 'bad-token':
      return { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl' };
    case 'unsigned-token':
      return { authorization: `Bearer ${UNSIGNED_TOKEN}` };
    case 'bad-api-key':
      return { 'x-api-key': 'shop_0000000000000000000000000000000000000000' };
    case 'basic-auth':
      return { authorization: 'Basic YWRtaW46YWRtaW4=' };
  }
}

interface Outcome {
  status: number;
  problems: string[];
}

/** Sends one request and judges the answer; `problems` is empty when it is acceptable. */
export async function judge(request: FuzzRequest, operation: Operation, options: Pick<FuzzOptions, 'gatewayUrl' | 'credentials' | 'checker'>): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(`${options.gatewayUrl}${request.target}`, {
      method: request.method,
      headers: { ...request.headers, ...credentialHeaders(request.actor, options.credentials) },
      redirect: 'manual',
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: AbortSignal.timeout(20_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { message?: string; code?: string } }).cause;
    // undici refuses to send some hostile headers itself; that is the client, not the server.
    if (error instanceof TypeError && /header|ByteString|invalid/i.test(`${error.message} ${cause?.message ?? ''}`) && cause?.code !== 'ECONNRESET' && cause?.code !== 'UND_ERR_SOCKET') {
      return { status: 0, problems: [] };
    }
    return { status: 0, problems: [`no answer: ${(error as Error).message} ${cause?.code ?? cause?.message ?? ''}`] };
  }
  const text = await response.text();
  const status = response.status;
  const problems: string[] = [];
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (status >= 500) problems.push(`a server error: ${status} ${text.slice(0, 200)}`);
  if (!response.headers.get('x-request-id')) problems.push('no x-request-id');
  if (status >= 400) {
    if (mediaTypeOf(response.headers.get('content-type')) !== 'application/problem+json') problems.push(`an error as ${response.headers.get('content-type')}`);
    problems.push(...problemShapeProblems(status, json));
    const code = (json as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && !KNOWN_CODES.has(code)) problems.push(`code ${code} is not in the table of error codes`);
  }
  if (request.expect === 'refusal' && (status < 400 || status >= 500)) problems.push(`input the document rules out was not refused: ${status}`);
  if (request.expect === 'success') {
    const code = (json as { code?: string } | undefined)?.code ?? '';
    const business = status < 400 || (status < 500 && !REFUSALS.has(status)) || BUSINESS_REFUSAL_CODES.has(code) || status === 429;
    if (!business) problems.push(`valid input was refused: ${status} ${code} ${text.slice(0, 200)}`);
    if (status < 500 && !(status === 429)) problems.push(...options.checker.check(operation, status, response.headers.get('content-type'), json ?? (text === '' ? undefined : text)));
  }
  return { status, problems };
}

/**
 * What fast-check cannot shrink through the dependent generators (the valid request a mutation
 * was applied to): drops, one at a time, each query parameter, header and top-level body
 * property that the failure does not need, so the request printed is the smallest that fails
 * the same way.
 */
async function minimise(request: FuzzRequest, outcome: Outcome, operation: Operation, options: FuzzOptions): Promise<{ request: FuzzRequest; outcome: Outcome }> {
  if (outcome.problems.length === 0) return { request, outcome };
  let best = { request, outcome };
  const attempt = async (candidate: FuzzRequest) => {
    const result = await judge(candidate, operation, options);
    if (result.status === best.outcome.status && result.problems.length > 0) best = { request: candidate, outcome: result };
  };
  const [path, query = ''] = request.target.split('?') as [string, string?];
  for (const pair of query.split('&').filter(Boolean)) {
    const remaining = (best.request.target.split('?')[1] ?? '').split('&').filter((existing) => existing !== pair && existing !== '');
    await attempt({ ...best.request, target: remaining.length === 0 ? path : `${path}?${remaining.join('&')}` });
  }
  for (const name of Object.keys(request.headers).filter((header) => header !== 'content-type')) {
    const headers = { ...best.request.headers };
    delete headers[name];
    await attempt({ ...best.request, headers });
  }
  if (request.body !== undefined && request.bodyRecipe === undefined && request.body.length < 100_000) {
    for (const key of Object.keys(safeParse(request.body.toString()) ?? {})) {
      const current = safeParse(best.request.body?.toString() ?? '');
      if (current === undefined || !(key in current)) continue;
      delete current[key];
      const text = JSON.stringify(current);
      // Only where the body is plain JSON that survives a round trip (raw numbers and duplicate keys do not).
      if (best.request.body?.toString() !== JSON.stringify(safeParse(best.request.body?.toString() ?? ''))) break;
      await attempt({ ...best.request, body: Buffer.from(text) });
    }
  }
  return best;
}

function safeParse(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `curl` that sends the same bytes (tokens as shell variables, large bodies rebuilt with node). */
export function asCurl(request: FuzzRequest, gatewayUrl: string): string {
  const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  const parts = ['curl -sS -i', '-X', request.method, quote(`${gatewayUrl}${request.target}`)];
  for (const [name, value] of Object.entries(request.headers)) parts.push('-H', quote(`${name}: ${value}`));
  if (request.actor === 'admin') parts.push('-H', '"authorization: Bearer $ADMIN_TOKEN"');
  else if (request.actor === 'customer') parts.push('-H', '"authorization: Bearer $CUSTOMER_TOKEN"');
  else for (const [name, value] of Object.entries(credentialHeaders(request.actor, { adminToken: '', customerToken: '' }))) parts.push('-H', quote(`${name}: ${value}`));
  if (request.body !== undefined) {
    const printable = /^[\x20-\x7e]*$/.test(request.body.toString('latin1'));
    if (request.bodyRecipe !== undefined) parts.push('--data-binary', `@<(node -e ${quote(`process.stdout.write(${request.bodyRecipe})`)})`);
    else if (printable && request.body.length <= 4000) parts.push('--data-binary', quote(request.body.toString('latin1')));
    else parts.push('--data-binary', `@<(printf %s ${quote(request.body.toString('base64'))} | base64 -d)`);
  }
  return parts.join(' ');
}

export function statusClass(status: number): string {
  return status === 0 ? 'unsent' : `${String(status)[0]}xx`;
}

/**
 * Fuzzes every operation: for each family of input that applies to it, a seeded fast-check run
 * whose property is "the gateway answers as the document and the contract say". A family that
 * fails is shrunk to its smallest counterexample; the others go on, so one run reports every
 * kind of failure at once.
 */
export async function fuzzOperations(operations: Operation[], options: FuzzOptions, onFailure?: (failure: FuzzFailure) => void): Promise<FuzzReport> {
  const report: FuzzReport = { counts: new Map(), failures: [], requests: 0 };
  const queue = [...operations];
  const worker = async () => {
    for (let operation = queue.shift(); operation !== undefined; operation = queue.shift()) await fuzzOperation(operation, options, report, onFailure);
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return report;
}

async function fuzzOperation(operation: Operation, options: FuzzOptions, report: FuzzReport, onFailure?: (failure: FuzzFailure) => void): Promise<void> {
  const families = FAMILIES.map((family) => [family, requestsFor(operation, family, options.context)] as const).filter(([, arbitrary]) => arbitrary !== undefined);
  const totalWeight = families.reduce((sum, [family]) => sum + (FAMILY_WEIGHTS[family] ?? 1), 0);
  const counts = report.counts.get(operation.operationId) ?? {};
  report.counts.set(operation.operationId, counts);
  for (const [family, arbitrary] of families) {
    const runs = Math.max(5, Math.round((options.runsPerOperation * (FAMILY_WEIGHTS[family] ?? 1)) / totalWeight));
    let shrinking = false;
    let last: { request: FuzzRequest; outcome: Outcome } | undefined;
    const property = fc.asyncProperty(arbitrary!, async (request) => {
      const outcome = await judge(request, operation, options);
      if (!shrinking) {
        report.requests += 1;
        const key = statusClass(outcome.status);
        counts[key] = (counts[key] ?? 0) + 1;
      }
      if (outcome.problems.length > 0) {
        shrinking = true;
        last = { request, outcome };
        throw new Error(outcome.problems.join('; '));
      }
    });
    const details = await fc.check(property, {
      numRuns: runs,
      seed: options.seed,
      interruptAfterTimeLimit: options.familyTimeLimitMs ?? 30_000,
      markInterruptAsFailure: false,
    });
    if (details.failed && details.counterexample !== null) {
      const [shrunk] = details.counterexample;
      // The last failing run is the shrunk counterexample's; judge it again if shrinking was cut short.
      const judged = last?.request === shrunk ? last.outcome : await judge(shrunk, operation, options);
      const { request, outcome } = await minimise(shrunk, judged, operation, options);
      const failure: FuzzFailure = {
        operationId: operation.operationId,
        family,
        request,
        problems: outcome.problems,
        status: outcome.status,
        seed: details.seed,
        ...(details.counterexamplePath === null ? {} : { path: details.counterexamplePath }),
      };
      report.failures.push(failure);
      onFailure?.(failure);
    }
  }
}

/** Counts by operation and status class, one line per operation, then the totals. */
export function formatCounts(report: FuzzReport): string {
  const classes = ['2xx', '3xx', '4xx', '5xx', 'unsent'];
  const totals: Record<string, number> = {};
  const width = Math.max(...[...report.counts.keys()].map((id) => id.length), 9);
  const lines = [`${'operation'.padEnd(width)} ${classes.map((name) => name.padStart(7)).join('')}`];
  for (const [operationId, counts] of [...report.counts].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`${operationId.padEnd(width)} ${classes.map((name) => String(counts[name] ?? 0).padStart(7)).join('')}`);
    for (const name of classes) totals[name] = (totals[name] ?? 0) + (counts[name] ?? 0);
  }
  lines.push(`${'total'.padEnd(width)} ${classes.map((name) => String(totals[name] ?? 0).padStart(7)).join('')}`);
  return lines.join('\n');
}

/** One failure as a reader needs it: what, why, and the request to replay it. */
export function formatFailure(failure: FuzzFailure, gatewayUrl: string): string {
  return [
    `${failure.operationId} [${failure.family}] ${failure.request.mutation} (as ${failure.request.actor}) → ${failure.status}`,
    ...failure.problems.map((problem) => `  ${problem}`),
    `  ${asCurl(failure.request, gatewayUrl)}`,
    `  replay: --seed ${failure.seed}${failure.path ? ` (fast-check path ${failure.path})` : ''}`,
  ].join('\n');
}
