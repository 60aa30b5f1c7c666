import { AppError } from '@shop/service-kit';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';

export interface LoginThrottleSettings {
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  windowSeconds: number;
}

/** What the throttle reports: refusals by scope (the account's or the address's limit), and failures. */
export interface LoginThrottleMetrics {
  loginFailures: { inc(): void };
  loginThrottles: { inc(labels: { scope: 'account' | 'address' }): void };
}

/**
 * Counts failed logins per account and per client address in Redis. Once either count reaches
 * its limit, logins for that account (or from that address) are refused with 429 until the
 * window passes, before the password is even checked. While Redis is down, counting carries on
 * in memory (per instance) rather than letting brute force through or locking everyone out.
 */
export class LoginThrottle {
  readonly #byAccount: RateLimiterAbstract;
  readonly #byAddress: RateLimiterAbstract;
  readonly #metrics: LoginThrottleMetrics | undefined;

  constructor(redis: Redis, settings: LoginThrottleSettings, metrics?: LoginThrottleMetrics) {
    this.#metrics = metrics;
    const limiter = (keyPrefix: string, points: number) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix,
        points,
        duration: settings.windowSeconds,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: settings.windowSeconds }),
      });
    this.#byAccount = limiter('login-failures:account', settings.maxFailuresPerAccount);
    this.#byAddress = limiter('login-failures:address', settings.maxFailuresPerAddress);
  }

  /** Throws 429 when this account or this address has used up its failures. */
  async assertAllowed(email: string, address: string): Promise<void> {
    const [account, fromAddress] = await Promise.all([this.#byAccount.get(email), this.#byAddress.get(address)]);
    const accountBlocked = exhausted(account, this.#byAccount.points);
    const addressBlocked = exhausted(fromAddress, this.#byAddress.points);
    const blocked = [accountBlocked, addressBlocked].filter((ms): ms is number => ms !== null);
    if (blocked.length > 0) {
      this.#metrics?.loginThrottles.inc({ scope: accountBlocked !== null ? 'account' : 'address' });
      const retryAfter = Math.max(1, Math.ceil(Math.max(...blocked) / 1000));
      throw new AppError('AUTH_TOO_MANY_LOGIN_ATTEMPTS', `Try again in ${retryAfter} seconds`, {
        headers: { 'retry-after': String(retryAfter) },
      });
    }
  }

  async recordFailure(email: string, address: string): Promise<void> {
    this.#metrics?.loginFailures.inc();
    // consume() rejects once the limit is passed; that is expected here, not an error.
    await Promise.allSettled([this.#byAccount.consume(email), this.#byAddress.consume(address)]);
  }

  /** A successful login clears the account's failures (not the address's: one good password proves nothing about the rest). */
  async recordSuccess(email: string): Promise<void> {
    await this.#byAccount.delete(email).catch(() => undefined);
  }
}

function exhausted(state: RateLimiterRes | null, points: number): number | null {
  return state !== null && state.consumedPoints >= points ? state.msBeforeNext : null;
}
