import { ErrorCodes, PROBLEM_CONTENT_TYPE, problemTypeOf, type ErrorCode, type Problem, type ProblemFieldError } from '@shop/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER } from './request-id';

export function buildProblem(
  request: FastifyRequest,
  code: ErrorCode,
  detail?: string,
  errors?: ProblemFieldError[],
): Problem {
  const { status, title } = ErrorCodes[code];
  return {
    type: problemTypeOf(code),
    title,
    status,
    ...(detail === undefined ? {} : { detail }),
    // The path only: a query string may carry tokens.
    instance: request.url.split('?')[0] ?? request.url,
    code,
    requestId: String(request.id),
    ...(errors === undefined ? {} : { errors }),
  };
}

/** Sends a problem+json reply. Serialised by hand: it must work even when no route matched. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  detail?: string,
  errors?: ProblemFieldError[],
): FastifyReply {
  const problem = buildProblem(request, code, detail, errors);
  // Also here, for the errors raised before any onRequest hook could set it.
  reply.header(REQUEST_ID_HEADER, problem.requestId);
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(problem);
}
