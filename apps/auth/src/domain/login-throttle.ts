import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@shop/service-kit';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';

export interface LoginThrottleSettings {
  /** Failures of one account from one address before that pair is refused (429). */
  maxFailuresPerAccountAndAddress: number;
  /** Failures from one address, whatever the accounts, before the address is refused (429). */
  maxFailuresPerAddress: number;
  /** Failures of one account from anywhere before its logins are slowed down (never refused). */
  accountSlowdownAfter: number;
  /** The longest an account's login is made to wait. */
  accountMaxDelayMs: number;
  windowSeconds: number;
}

/** What the throttle reports: failures, and refusals by the limit that refused (the pair's or the address's). */
export interface LoginThrottleMetrics {
  loginFailures: { inc(): void };
  loginThrottles: { inc(labels: { scope: 'account_address' | 'address' }): void };
}

/** The first delay past the threshold; it doubles with each further failure, up to the maximum. */
const FIRST_DELAY_MS = 250;

/**
 * Login throttling as OWASP's Authentication Cheat Sheet describes it, so that failures from
 * one address can never lock the owner out from theirs:
 *
 * - per (account, address): guessing one account from one place is refused past a few failures;
 * - per address: credential stuffing from one place is refused past more;
 * - per account, from anywhere: logins are only *slowed down* (a delay that grows with the
 *   failures, before the password is checked, for everyone alike), never refused. A distributed
 *   attack gets slower; the owner still gets in with the right password.
 *
 * Counters are keyed by the normalised email whether or not the account exists, so an unknown
 * account is throttled, delayed and answered exactly as a known one. While Redis is down,
 * counting carries on in memory (per instance).
 */
export class LoginThrottle {
  readonly #byPair: RateLimiterAbstract;
  readonly #byAddress: RateLimiterAbstract;
  readonly #byAccount: RateLimiterAbstract;
  readonly #metrics: LoginThrottleMetrics | undefined;

  constructor(
    redis: Redis,
    private readonly settings: LoginThrottleSettings,
    metrics?: LoginThrottleMetrics,
  ) {
    this.#metrics = metrics;
    const limiter = (keyPrefix: string, points: number) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix,
        points,
        duration: settings.windowSeconds,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: settings.windowSeconds }),
      });
    this.#byPair = limiter('login-failures:account-address', settings.maxFailuresPerAccountAndAddress);
    this.#byAddress = limiter('login-failures:address', settings.maxFailuresPerAddress);
    // Never "exhausted": the count only sets the delay.
    this.#byAccount = limiter('login-failures:account', Number.MAX_SAFE_INTEGER);
  }

  /** Throws 429 when this (account, address) pair or this address has used up its failures; otherwise waits the account's delay. */
  async admit(email: string, address: string): Promise<void> {
    const [pair, fromAddress, account] = await Promise.all([
      this.#byPair.get(pairKey(email, address)),
      this.#byAddress.get(address),
      this.#byAccount.get(email),
    ]);
    const pairBlocked = exhausted(pair, this.#byPair.points);
    const blocked = [pairBlocked, exhausted(fromAddress, this.#byAddress.points)].filter((ms): ms is number => ms !== null);
    if (blocked.length > 0) {
      this.#metrics?.loginThrottles.inc({ scope: pairBlocked !== null ? 'account_address' : 'address' });
      const retryAfter = Math.max(1, Math.ceil(Math.max(...blocked) / 1000));
      throw new AppError('AUTH_TOO_MANY_LOGIN_ATTEMPTS', `Try again in ${retryAfter} seconds`, {
        headers: { 'retry-after': String(retryAfter) },
      });
    }
    const delayMs = this.delayFor(account?.consumedPoints ?? 0);
    if (delayMs > 0) await sleep(delayMs);
  }

  /** The wait before a login of an account that failed this many times in the window. */
  delayFor(failures: number): number {
    const over = failures - this.settings.accountSlowdownAfter;
    if (over < 0) return 0;
    return Math.min(this.settings.accountMaxDelayMs, FIRST_DELAY_MS * 2 ** Math.min(over, 20));
  }

  async recordFailure(email: string, address: string): Promise<void> {
    this.#metrics?.loginFailures.inc();
    // consume() rejects once the limit is passed; that is expected here, not an error.
    await Promise.allSettled([this.#byPair.consume(pairKey(email, address)), this.#byAddress.consume(address), this.#byAccount.consume(email)]);
  }

  /**
   * A successful login clears that pair's failures. Not the address's (one good password proves
   * nothing about the other accounts tried from there), nor the account's slowdown (an attack
   * from elsewhere is still going on).
   */
  async recordSuccess(email: string, address: string): Promise<void> {
    await this.#byPair.delete(pairKey(email, address)).catch(() => undefined);
  }
}

function pairKey(email: string, address: string): string {
  return `${address} ${email}`;
}

function exhausted(state: RateLimiterRes | null, points: number): number | null {
  return state !== null && state.consumedPoints >= points ? state.msBeforeNext : null;
}
