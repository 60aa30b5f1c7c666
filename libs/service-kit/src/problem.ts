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

const DEFAULT_CHALLENGE = 'Bearer realm="shop"';

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
  // RFC 9110 §15.5.2: a 401 must carry a challenge, also where it says "wrong password" rather
  // than "no token" (login, refresh); the raiser's more precise challenge wins.
  if (problem.status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', DEFAULT_CHALLENGE);
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(problem);
}
