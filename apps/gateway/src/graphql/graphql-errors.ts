import { ErrorCodes, type ErrorCode, type Problem, type ProblemFieldError } from '@shop/contracts';
import { isAppError } from '@shop/service-kit';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { ServiceProblem } from './service-calls';

/** The `extensions` of every error the gateway's GraphQL answers with: the REST problem's code and status. */
export interface ErrorExtensions {
  code: string;
  status: number;
  requestId: string;
  errors?: ProblemFieldError[];
}

/** Fastify's own client errors on /graphql, as the codes REST gives them. */
const TRANSPORT_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'REQUEST_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'REQUEST_MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'REQUEST_MALFORMED_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'REQUEST_MALFORMED_BODY',
  // Mercurius: a mutation sent with GET.
  MER_ERR_METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
};

function formatted(message: string, extensions: ErrorExtensions, error?: GraphQLError): GraphQLFormattedError {
  return {
    message,
    ...(error?.locations ? { locations: error.locations } : {}),
    ...(error?.path ? { path: error.path } : {}),
    extensions: { ...extensions },
  };
}

function extensionsOf(code: string, status: number, requestId: string, errors?: ProblemFieldError[]): ErrorExtensions {
  return { code, status, requestId, ...(errors && errors.length > 0 ? { errors } : {}) };
}

/**
 * One error of an execution as the client sees it: a service's refusal keeps its code and status;
 * anything unexpected is logged in full and answered without its message (which could name an
 * internal host) or stack. `ran`: execution started (else the error is about the request itself:
 * a missing variable, an unknown operation name).
 */
export function formatExecutionError(error: GraphQLError, request: FastifyRequest, ran: boolean): GraphQLFormattedError {
  const cause = error.originalError;
  if (cause instanceof ServiceProblem) return formatted(cause.message, extensionsOf(cause.code, cause.status, request.id, cause.errors), error);
  if (isAppError(cause)) return formatted(cause.detail ?? cause.title, extensionsOf(cause.code, cause.statusCode, request.id, cause.options.errors), error);
  if (!ran) return formatted(error.message, extensionsOf('REQUEST_VALIDATION_FAILED', 400, request.id, [{ path: '/query', message: error.message }]), error);
  if (cause === undefined || cause instanceof GraphQLError) {
    // GraphQL's own, while executing: a service's answer that does not fit the schema (a null where none may be, an Int beyond 32 bits).
    request.log.error({ err: error, path: error.path }, 'a service answer does not fit the GraphQL schema');
    return formatted(ErrorCodes.GATEWAY_BAD_UPSTREAM_RESPONSE.title, extensionsOf('GATEWAY_BAD_UPSTREAM_RESPONSE', 502, request.id), error);
  }
  request.log.error({ err: cause, path: error.path }, 'GraphQL resolver failed');
  return formatted(ErrorCodes.INTERNAL_ERROR.title, extensionsOf('INTERNAL_ERROR', 500, request.id), error);
}

/**
 * For errors that Mercurius sends on a WebSocket as they are (a subscription refused as it
 * starts): the same message and extensions as the formatter gives.
 */
export function asGraphqlError(error: unknown, request: FastifyRequest): GraphQLError {
  const original = error instanceof Error ? error : new Error(String(error));
  const { message, extensions } = formatExecutionError(new GraphQLError(original.message, { originalError: original }), request, true);
  return new GraphQLError(message, { extensions: extensions ?? {} });
}

/**
 * Mercurius's `errorFormatter`: errors met while executing. The HTTP status stays 200 whenever
 * the operation ran (GraphQL over HTTP): each error says its own status in `extensions`; a
 * request that could not start (a required variable missing) is a 400.
 */
export function formatExecution(execution: ExecutionResult & { errors: readonly GraphQLError[] }, request: FastifyRequest) {
  const ran = execution.data !== undefined;
  return {
    statusCode: ran ? 200 : 400,
    response: { data: execution.data ?? null, errors: execution.errors.map((error) => formatExecutionError(error, request, ran)) },
  };
}

/** A problem document (RFC 9457) as a GraphQL response refused before execution. */
export function graphqlResponseOfProblem(problem: Problem): { data: null; errors: GraphQLFormattedError[] } {
  return { data: null, errors: [formatted(problem.detail ?? problem.title, extensionsOf(problem.code, problem.status, problem.requestId, problem.errors))] };
}

/**
 * Mercurius's `errorHandler`: a request refused before execution — at the edge (401, 429), by the
 * transport (415, 413), by GraphQL validation (400 with each problem in `errors[]`) or by the
 * query limits (400 GRAPHQL_QUERY_TOO_COMPLEX). The status is REST's; the body is a GraphQL
 * response whose errors carry the code.
 */
export function sendRefusal(error: FastifyError & { errors?: unknown[] }, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  let errors: GraphQLFormattedError[];
  let status: number;
  const transportCode = error.code === undefined ? undefined : TRANSPORT_ERRORS[error.code];
  if (isAppError(error)) {
    if (error.options.headers) reply.headers(error.options.headers);
    status = error.statusCode;
    errors = [formatted(error.detail ?? error.title, extensionsOf(error.code, status, request.id, error.options.errors))];
  } else if (transportCode !== undefined) {
    status = ErrorCodes[transportCode].status;
    errors = [formatted(ErrorCodes[transportCode].title, extensionsOf(transportCode, status, request.id))];
  } else if (Array.isArray(error.errors) && error.errors.length > 0) {
    // Mercurius's validation error: the document did not parse, does not fit the schema, or its variables do not.
    status = 400;
    const issues = error.errors as Error[];
    const fieldErrors: ProblemFieldError[] = issues.map((issue) => ({ path: '/query', message: issue.message }));
    const extensions = extensionsOf('REQUEST_VALIDATION_FAILED', status, request.id, fieldErrors);
    errors = issues.map((issue) => formatted(issue.message, extensions, issue instanceof GraphQLError ? issue : undefined));
  } else if (error.validation) {
    // The HTTP request's own shape (no query, variables that are not an object, a batch).
    status = 400;
    const fieldErrors = error.validation.map((issue) => ({ path: `/${error.validationContext ?? 'body'}${issue.instancePath}`, message: issue.message ?? 'is not valid' }));
    errors = [formatted(`The ${error.validationContext ?? 'request'} is not valid`, extensionsOf('REQUEST_VALIDATION_FAILED', status, request.id, fieldErrors))];
  } else if (error instanceof SyntaxError && error.statusCode === 400) {
    status = 400;
    errors = [formatted('The body is not valid JSON', extensionsOf('REQUEST_MALFORMED_BODY', status, request.id))];
  } else {
    request.log.error({ err: error }, 'unhandled error');
    status = 500;
    errors = [formatted(ErrorCodes.INTERNAL_ERROR.title, extensionsOf('INTERNAL_ERROR', status, request.id))];
  }
  if (status === 405) reply.header('allow', 'POST');
  return reply.code(status).type('application/json; charset=utf-8').send({ data: null, errors });
}
