import { Type, type Static } from '@sinclair/typebox';

export const ProblemFieldErrorSchema = Type.Object(
  {
    path: Type.String({ description: 'JSON Pointer into the request part, e.g. /body/email' }),
    message: Type.String(),
  },
  { $id: 'ProblemFieldError' },
);

/** RFC 9457 problem details, as every service answers an error. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI identifying the problem type' }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String({ description: 'Path of the request that failed' })),
    code: Type.String({ description: 'Stable machine-readable error code' }),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(ProblemFieldErrorSchema)),
  },
  { $id: 'Problem', additionalProperties: true },
);
export type Problem = Static<typeof ProblemSchema>;
export type ProblemFieldError = Static<typeof ProblemFieldErrorSchema>;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
