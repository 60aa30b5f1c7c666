export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long the breaker stays open before one probe is let through, the first time. */
  resetMs: number;
  /** Each failed probe doubles the time to the next one, up to this (default: `resetMs`, no backoff). */
  maxResetMs?: number;
  /** Injected in tests. */
  now?: () => number;
}

/**
 * A consecutive-failure breaker, one per upstream. Closed: everything passes. After
 * `failureThreshold` failures in a row it opens: requests fail fast, so a dead or drowning
 * service gets no traffic at all. After `resetMs` it is half-open: exactly one request (the
 * probe) goes through; its success closes the breaker, its failure opens it again for twice as
 * long, up to `maxResetMs`. Recovery therefore needs no operator, only a request, and a service
 * that comes back is found within one interval: short (a quarter second) right after an outage
 * began, at most `maxResetMs` into a long one, during which it costs one request per interval.
 *
 * Small on purpose (opossum wraps every call in promises, timers and rolling statistics): the
 * gateway asks it twice per request, on the hot path.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  /** The current wait before a probe: `resetMs`, doubled by each failed probe. */
  private waitMs: number;
  private probeInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
    this.waitMs = options.resetMs;
  }

  get currentState(): BreakerState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.waitMs) return 'half-open';
    return this.state;
  }

  /**
   * Whether a request may go to the upstream now. In half-open state the first caller becomes the
   * probe and must report its outcome; everyone else keeps failing fast until it does.
   */
  tryAcquire(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.now() - this.openedAt < this.waitMs) return false;
      this.state = 'half-open';
      this.probeInFlight = false;
    }
    if (this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  /** Milliseconds until a probe may go through (for `Retry-After`); 0 when not open. */
  retryAfterMs(): number {
    if (this.state !== 'open') return 0;
    return Math.max(0, this.waitMs - (this.now() - this.openedAt));
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.probeInFlight = false;
    this.state = 'closed';
    this.waitMs = this.options.resetMs;
  }

  recordFailure(): void {
    this.probeInFlight = false;
    if (this.state === 'half-open') {
      this.waitMs = Math.min(this.waitMs * 2, Math.max(this.options.resetMs, this.options.maxResetMs ?? this.options.resetMs));
      this.open();
      return;
    }
    this.consecutiveFailures += 1;
    if (this.state === 'closed' && this.consecutiveFailures >= this.options.failureThreshold) this.open();
  }

  /** The request went nowhere (the client left first): no verdict on the upstream, free the probe slot. */
  release(): void {
    this.probeInFlight = false;
  }

  private open(): void {
    this.state = 'open';
    this.openedAt = this.now();
    this.consecutiveFailures = 0;
  }
}
