import { performance } from 'node:perf_hooks';
import { ErrorCodes, type ErrorCode, type ProblemFieldError, type PublicOperation, type UpstreamName } from '@shop/contracts';
import { AppError } from '@shop/service-kit';
import type { FastifyRequest } from 'fastify';
import { traceOfRequest } from '../observability/trace-context';
import { upstreamRequestHeaders } from '../upstream/forward-headers';
import type { Upstream } from '../upstream/upstream';
import { UpstreamError } from '../upstream/upstream-error';

/** A service's refusal (its problem's code and status), or the gateway's own for an upstream failure. */
export class ServiceProblem extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    detail: string,
    readonly errors?: ProblemFieldError[],
  ) {
    super(detail);
    this.name = 'ServiceProblem';
  }

  static of(error: AppError): ServiceProblem {
    return new ServiceProblem(error.code, error.statusCode, error.detail ?? error.title, error.options.errors);
  }
}

/** One call of a public operation: its path parameters, query, body and extra headers. */
export interface ServiceCall {
  params?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ServiceCallsSettings {
  upstreams: Record<UpstreamName, Upstream>;
  timeoutMs: number;
  longTimeoutMs: number;
}

/** Each operation's path split once into literal parts and parameter names (even and odd indexes). */
const pathParts = new WeakMap<PublicOperation, string[]>();

/** `/v1/products/:id` with `{ id }` and a query: each part encoded, so no input can change the path. */
function pathOf(operation: PublicOperation, call: ServiceCall): string {
  let parts = pathParts.get(operation);
  if (parts === undefined) {
    parts = operation.path.split(/:([A-Za-z_][A-Za-z0-9_]*)/);
    pathParts.set(operation, parts);
  }
  let path = parts[0]!;
  for (let index = 1; index < parts.length; index += 2) path += encodeURIComponent(call.params?.[parts[index]!] ?? '') + parts[index + 1]!;
  if (call.query === undefined) return path;
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(call.query)) if (value !== undefined && value !== null) search.set(name, String(value));
  const encoded = search.toString();
  return encoded === '' ? path : `${path}?${encoded}`;
}

function problemOf(body: Buffer, status: number): ServiceProblem {
  try {
    const problem = JSON.parse(body.toString('utf8')) as { code?: unknown; detail?: unknown; title?: unknown; errors?: ProblemFieldError[] };
    if (typeof problem.code === 'string') {
      const detail = typeof problem.detail === 'string' ? problem.detail : typeof problem.title === 'string' ? problem.title : problem.code;
      return new ServiceProblem(problem.code, status, detail, Array.isArray(problem.errors) ? problem.errors : undefined);
    }
  } catch {
    // Not a problem document: described by its status below.
  }
  // Services answer every error as a problem; anything else is a broken answer (a bare 404 aside).
  const code: ErrorCode = status === 404 ? 'RESOURCE_NOT_FOUND' : 'GATEWAY_BAD_UPSTREAM_RESPONSE';
  return new ServiceProblem(code, ErrorCodes[code].status, ErrorCodes[code].title);
}

/**
 * The services as one GraphQL request sees them: each call is a public operation of the table in
 * libs/contracts, made through the gateway's own upstream pool (breaker, retries and timeout as
 * the operation declares them) with the caller's credentials, request id and trace, so every
 * service still verifies the token and enforces ownership exactly as for REST. An operation that
 * needs a caller is refused here without one, as the edge refuses it on REST. A refusal becomes a
 * `ServiceProblem` carrying the service's code.
 */
export class ServiceCalls {
  private readonly traceparent: string | undefined;

  constructor(
    private readonly request: FastifyRequest,
    private readonly settings: ServiceCallsSettings,
  ) {
    const trace = traceOfRequest(request.headers.traceparent);
    request.traceId = trace.traceId;
    this.traceparent = trace.instrumented ? undefined : trace.traceparent;
  }

  /** The answer's JSON, `null` for a 404 when `missingIsNull` (or for a 204), or a thrown `ServiceProblem`. */
  async json<T>(operation: PublicOperation, call: ServiceCall = {}, options: { missingIsNull?: boolean } = {}): Promise<T | null> {
    if (operation.service === 'gateway') throw new Error(`${operation.operationId} is the gateway's own`);
    if (operation.access.caller !== 'anyone' && this.request.principal === null) {
      throw new AppError('AUTH_TOKEN_MISSING', 'Send an access token as "Authorization: Bearer <token>", or an API key as X-Api-Key');
    }
    const upstreamName: UpstreamName = operation.service;
    const upstream = this.settings.upstreams[upstreamName];
    const accessToken = this.request.edgeCredentials?.accessToken;
    const headers = upstreamRequestHeaders(
      { accept: 'application/json', ...(call.body === undefined ? {} : { 'content-type': 'application/json' }), ...call.headers },
      {
        requestId: this.request.id,
        traceparent: this.traceparent,
        clientAddress: this.request.ip,
        protocol: this.request.protocol,
        host: this.request.headers.host,
        authorization: accessToken === undefined ? undefined : `Bearer ${accessToken}`,
      },
    );
    const path = pathOf(operation, call);
    const started = performance.now();
    let response;
    try {
      response = await upstream.send({
        method: operation.method,
        path,
        headers,
        ...(call.body === undefined ? {} : { body: Buffer.from(JSON.stringify(call.body)) }),
        timeoutMs: operation.timeout === 'long' ? this.settings.longTimeoutMs : this.settings.timeoutMs,
        repeatable: operation.retry === 'idempotent' || call.headers?.['idempotency-key'] !== undefined,
      });
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      this.request.log.warn({ upstream: upstream.name, failure: error.failure, err: error.cause }, 'upstream failed');
      throw ServiceProblem.of(error.toAppError());
    }
    this.request.upstreamTiming = { upstream: upstream.name, ms: performance.now() - started, attempts: response.attempts };
    if (response.statusCode === 404 && options.missingIsNull) return null;
    if (response.statusCode >= 400) throw problemOf(response.body, response.statusCode);
    if (response.statusCode === 204 || response.body.length === 0) return null;
    try {
      return JSON.parse(response.body.toString('utf8')) as T;
    } catch {
      throw ServiceProblem.of(new AppError('GATEWAY_BAD_UPSTREAM_RESPONSE', `The ${upstream.name} service answered with something that is not JSON`));
    }
  }

  /** Like `json`, for an answer that must have a body. */
  async required<T>(operation: PublicOperation, call: ServiceCall = {}): Promise<T> {
    const value = await this.json<T>(operation, call);
    if (value === null) throw ServiceProblem.of(new AppError('GATEWAY_BAD_UPSTREAM_RESPONSE', `The ${operation.service} service answered without a body`));
    return value;
  }
}
