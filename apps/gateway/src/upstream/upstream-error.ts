import type { ErrorCode } from '@shop/contracts';
import { AppError } from '@shop/service-kit';

/**
 * Why an upstream gave no usable answer. `unavailable`: no connection could be made (refused,
 * unknown host, connect timeout), so the request never reached it. `timeout`: it took too long.
 * `bad-response`: the connection broke or the answer was not HTTP. `circuit-open`: not even
 * tried. `aborted`: the client left first.
 */
export type UpstreamFailure = 'unavailable' | 'timeout' | 'bad-response' | 'circuit-open' | 'aborted';

const CODE_OF: Record<Exclude<UpstreamFailure, 'aborted'>, ErrorCode> = {
  unavailable: 'GATEWAY_UPSTREAM_UNAVAILABLE',
  timeout: 'GATEWAY_UPSTREAM_TIMEOUT',
  'bad-response': 'GATEWAY_BAD_UPSTREAM_RESPONSE',
  'circuit-open': 'GATEWAY_CIRCUIT_OPEN',
};

export class UpstreamError extends Error {
  constructor(
    readonly upstream: string,
    readonly failure: UpstreamFailure,
    /** For `circuit-open`: when the next probe may go through. */
    readonly retryAfterMs = 0,
    options?: ErrorOptions,
  ) {
    super(`${upstream}: ${failure}`, options);
    this.name = 'UpstreamError';
  }

  /** The problem the client gets: never the upstream's address or the low-level error. */
  toAppError(): AppError {
    const code = CODE_OF[this.failure === 'aborted' ? 'bad-response' : this.failure];
    const retryable = this.failure === 'unavailable' || this.failure === 'circuit-open';
    const retryAfterSeconds = Math.max(1, Math.ceil(this.retryAfterMs / 1000));
    return new AppError(code, `The ${this.upstream} service ${DETAIL_OF[this.failure]}`, {
      ...(retryable ? { headers: { 'retry-after': String(retryAfterSeconds) } } : {}),
    });
  }
}

const DETAIL_OF: Record<UpstreamFailure, string> = {
  unavailable: 'cannot be reached; try again shortly',
  timeout: 'did not answer in time',
  'bad-response': 'broke off its answer',
  'circuit-open': 'is failing; requests to it are paused for a moment',
  aborted: 'request was abandoned',
};

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Sorts undici's errors into what the client and the breaker need to know. */
export function classifyUpstreamError(error: unknown): UpstreamFailure {
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  if (code === 'UND_ERR_ABORTED' || name === 'AbortError') return 'aborted';
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return 'unavailable';
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return 'timeout';
  return 'bad-response';
}
