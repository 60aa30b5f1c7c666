import type { ErrorCode, ProblemFieldError } from '@shop/contracts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError } from './app-error';
import { sendProblem } from './problem';

/** Fastify's own error codes that are the client's fault, and the stable code each becomes. */
const FASTIFY_CLIENT_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'REQUEST_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'REQUEST_MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'REQUEST_MALFORMED_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'REQUEST_MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  // An id that cannot be decoded, or one longer than any id, names nothing that exists.
  FST_ERR_BAD_URL: 'RESOURCE_NOT_FOUND',
  FST_ERR_MAX_PARAM_LENGTH: 'RESOURCE_NOT_FOUND',
};

/**
 * The one error handler of every service: everything becomes RFC 9457 problem+json with a
 * stable code. Client errors say what was wrong; anything unexpected is logged in full and
 * answered with a bare 500, never a message, stack or SQL.
 */
export function problemErrorHandler(
  this: FastifyInstance,
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (isAppError(error)) {
    if (error.options.headers) reply.headers(error.options.headers);
    return sendProblem(request, reply, error.code, error.detail, error.options.errors);
  }

  if (error.validation) {
    // A malformed id in a path is just an id that does not exist.
    if (error.validationContext === 'params') return sendProblem(request, reply, 'RESOURCE_NOT_FOUND');
    const errors: ProblemFieldError[] = error.validation.map((issue) => {
      const missing = (issue.params as { missingProperty?: string }).missingProperty;
      const extra = (issue.params as { additionalProperty?: string }).additionalProperty;
      const leaf = missing ?? extra;
      // ajv's instancePath is already a JSON pointer; a property name must be escaped to join it.
      const path = `/${error.validationContext ?? 'body'}${issue.instancePath}${leaf ? `/${escapePointerToken(leaf)}` : ''}`;
      return { path, message: issue.message ?? 'is not valid' };
    });
    return sendProblem(request, reply, 'REQUEST_VALIDATION_FAILED', `The ${error.validationContext ?? 'request'} is not valid`, errors);
  }

  const mapped = error.code ? FASTIFY_CLIENT_ERRORS[error.code] : undefined;
  if (mapped) return sendProblem(request, reply, mapped, error.message);
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return sendProblem(request, reply, 'REQUEST_MALFORMED_BODY', 'The body is not valid JSON');
  }
  if (error.statusCode === 429) {
    return sendProblem(request, reply, 'RATE_LIMITED', error.message);
  }
  if (error.statusCode === 503) {
    return sendProblem(request, reply, 'SERVICE_UNAVAILABLE');
  }

  if (clientWentAway(error, request)) {
    // Not a fault of the service: the client closed its connection while sending its body.
    request.log.info({ err: { code: error.code, message: error.message } }, 'client disconnected before its request was complete');
    return sendProblem(request, reply, 'REQUEST_MALFORMED_BODY', 'The request body ended early');
  }

  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(request, reply, 'INTERNAL_ERROR');
}

/** Errors of the request stream that mean the client hung up (Node reports them as `aborted` / ECONNRESET). */
const CLIENT_GONE_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Only when the client's own connection is gone: the same codes from a call the handler made
 * (Redis, another service) are the service's trouble, and stay a logged 500.
 */
function clientWentAway(error: FastifyError, request: FastifyRequest): boolean {
  const connectionGone = request.raw.destroyed || request.raw.socket?.destroyed === true;
  return connectionGone && (error.message === 'aborted' || (error.code !== undefined && CLIENT_GONE_CODES.has(error.code)));
}

/** RFC 6901: `~` and `/` inside a property name become `~0` and `~1`. */
function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}
