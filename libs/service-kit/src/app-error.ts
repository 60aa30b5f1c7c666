import { ErrorCodes, type ErrorCode, type ProblemFieldError } from '@shop/contracts';

/**
 * An error the client is meant to see: a stable code from the contracts table, with an optional
 * detail for this occurrence. Anything else thrown by a handler is a 500 without detail.
 */
export class AppError extends Error {
  readonly statusCode: number;
  readonly title: string;

  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly options: { errors?: ProblemFieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? ErrorCodes[code].title);
    this.name = 'AppError';
    this.statusCode = ErrorCodes[code].status;
    this.title = ErrorCodes[code].title;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
