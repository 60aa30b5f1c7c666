import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import { CircuitBreaker, type BreakerState } from './circuit-breaker';
import { RetryBudget } from './retry-budget';
import { classifyUpstreamError, UpstreamError, type UpstreamFailure } from './upstream-error';

export interface UpstreamOptions {
  name: string;
  /** Origin of the service, e.g. `http://127.0.0.1:3002`. */
  url: string;
  connections: number;
  connectTimeoutMs: number;
  keepAliveMs: number;
  breaker: { failureThreshold: number; resetMs: number; maxResetMs?: number };
  retry: { max: number; baseDelayMs: number; budgetRatio: number; budgetBurst: number };
}

export interface UpstreamRequest {
  method: string;
  /** Path and query string, exactly as the client sent them. */
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
  /** For the response headers, and then between two chunks of the body. */
  timeoutMs: number;
  /** May be sent again after a connection failure (idempotent method or Idempotency-Key). */
  repeatable: boolean;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  attempts: number;
}

/** Failures that tell the breaker the service is in trouble (not a client's bad request). */
const UNHEALTHY_STATUS = new Set([502, 503, 504]);
/** Answers that never carry content, whatever their headers claim (RFC 9110 §6.4.1, §9.3.2). */
export function isBodiless(method: string, statusCode: number): boolean {
  return method === 'HEAD' || statusCode === 204 || statusCode === 304 || (statusCode >= 100 && statusCode < 200);
}

/** Worth another attempt: the connection failed, so the request most likely did not run. */
const RETRYABLE_FAILURES = new Set<UpstreamFailure>(['unavailable', 'bad-response']);
/** How long closing waits for exchanges in flight before aborting them. */
const CLOSE_WAIT_MS = 1_000;

/**
 * One service behind the gateway: a keep-alive connection pool, a circuit breaker, and a retry
 * budget. `send` either returns the service's answer (whatever its status) or throws an
 * `UpstreamError` promptly: timeouts bound every wait, and an open breaker fails at once.
 */
export class Upstream {
  readonly name: string;
  readonly url: string;
  private readonly pool: Pool;
  private readonly breaker: CircuitBreaker;
  private readonly budget: RetryBudget;

  constructor(private readonly options: UpstreamOptions) {
    this.name = options.name;
    this.url = options.url;
    this.pool = new Pool(options.url, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveMs,
      connect: { timeout: options.connectTimeoutMs },
    });
    this.breaker = new CircuitBreaker(options.breaker);
    this.budget = new RetryBudget({ ratio: options.retry.budgetRatio, burst: options.retry.budgetBurst });
  }

  get breakerState(): BreakerState {
    return this.breaker.currentState;
  }

  async send(request: UpstreamRequest): Promise<UpstreamResponse> {
    this.budget.deposit();
    let failure: UpstreamFailure | undefined;
    let cause: unknown;
    for (let attempt = 1; ; attempt += 1) {
      if (!this.breaker.tryAcquire()) {
        // A retry the breaker stopped: the client learns what actually went wrong.
        if (failure !== undefined) throw new UpstreamError(this.name, failure, 0, { cause });
        throw new UpstreamError(this.name, 'circuit-open', this.breaker.retryAfterMs());
      }
      try {
        const response = await this.dispatch(request);
        if (UNHEALTHY_STATUS.has(response.statusCode)) this.breaker.recordFailure();
        else this.breaker.recordSuccess();
        return { ...response, attempts: attempt };
      } catch (error) {
        cause = error;
        failure = classifyUpstreamError(error);
      }
      if (failure === 'aborted') {
        this.breaker.release();
        throw new UpstreamError(this.name, failure, 0, { cause });
      }
      this.breaker.recordFailure();
      const mayRetry =
        request.repeatable &&
        RETRYABLE_FAILURES.has(failure) &&
        attempt <= this.options.retry.max &&
        // Never while the breaker is open or probing: an outage must not get more traffic.
        this.breaker.currentState === 'closed' &&
        this.budget.tryWithdraw();
      if (!mayRetry) throw new UpstreamError(this.name, failure, 0, { cause });
      // Full jitter, so that retries from many requests do not arrive together.
      await sleep(Math.random() * this.options.retry.baseDelayMs * 2 ** (attempt - 1));
    }
  }

  /**
   * Runs a task that talks to the service another way (a WebSocket handshake) under the same
   * breaker: refused while open, and its outcome counts. No retries: the client reconnects.
   */
  async guarded<T>(task: () => Promise<T>, classify: (error: unknown) => UpstreamFailure): Promise<T> {
    if (!this.breaker.tryAcquire()) throw new UpstreamError(this.name, 'circuit-open', this.breaker.retryAfterMs());
    try {
      const result = await task();
      this.breaker.recordSuccess();
      return result;
    } catch (error) {
      const failure = classify(error);
      if (failure === 'aborted') this.breaker.release();
      else this.breaker.recordFailure();
      throw new UpstreamError(this.name, failure, 0, { cause: error });
    }
  }

  /** The service's own readiness (`/health/ready`), asked directly: never through the breaker. */
  async isReady(timeoutMs: number): Promise<boolean> {
    try {
      const { statusCode, body } = await this.pool.request({ method: 'GET', path: '/health/ready', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      await body.dump();
      return statusCode === 200;
    } catch {
      return false;
    }
  }

  /**
   * Lets the exchanges still in flight finish for a moment, then aborts them: by now the
   * server's drain has answered or cut their clients, and an upstream that is slow to answer
   * must not hold the process past its grace period.
   */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const closed = this.pool.close().then(() => 'closed', () => 'failed');
    const outcome = await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS, 'waited')))]);
    clearTimeout(timer);
    if (outcome !== 'closed') await this.pool.destroy();
  }

  /**
   * One exchange with the service, its body buffered (the services' answers are small JSON
   * documents, and a connection that breaks mid-body still becomes a clean 502 instead of a
   * truncated 200). Through undici's dispatcher handler rather than `request`: no stream and
   * no promise chain per body, which the gateway would only gather into a buffer again.
   */
  private dispatch(request: UpstreamRequest): Promise<Omit<UpstreamResponse, 'attempts'>> {
    return new Promise((resolve, reject) => {
      let statusCode = 0;
      let headersArrived = false;
      let headers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      this.pool.dispatch(
        {
          method: request.method as Dispatcher.HttpMethod,
          path: request.path,
          headers: request.headers,
          body: request.body ?? null,
          headersTimeout: request.timeoutMs,
          bodyTimeout: request.timeoutMs,
        },
        {
          // Its presence is what tells undici this handler speaks the current handler API.
          onRequestStart() {},
          onResponseStart(_controller, code, responseHeaders) {
            statusCode = code;
            headers = responseHeaders;
            headersArrived = true;
          },
          onResponseData(_controller, chunk) {
            chunks.push(chunk);
          },
          onResponseEnd() {
            resolve({ statusCode, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
          },
          onResponseError(_controller, error) {
            // A 304 may carry the Content-Length its 200 would have had (RFC 9110 §8.6), and a
            // sloppy service sends one on a 204 too; undici reads no content for either (right)
            // and then calls the missing bytes a mismatch (wrong for these statuses). The answer
            // itself is complete. undici has closed that connection already, so nothing the
            // service may have sent after the head can be mistaken for the next answer.
            const code = (error as { code?: unknown }).code;
            if (headersArrived && code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' && isBodiless(request.method, statusCode)) {
              resolve({ statusCode, headers, body: Buffer.alloc(0) });
              return;
            }
            reject(error);
          },
        },
      );
    });
  }
}
