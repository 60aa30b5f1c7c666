import { AppError } from '@shop/service-kit';
import type { Redis } from 'ioredis';
import { authorizationKeys, parseUserAuthorization, type UserAuthorization } from './authorization-state';
import type { Principal } from './principal';

export type RevocationReason = 'disabled' | 'rights-changed' | 'grant-revoked';

export type FreshnessVerdict =
  | { state: 'current' }
  | { state: 'revoked'; reason: RevocationReason }
  /** Redis could not be asked (or answered nonsense), and nothing known says the token is revoked. */
  | { state: 'unknown' };

export interface AuthorizationFreshnessOptions {
  /** How long one answer from Redis is reused per (user, grant). The change-to-effect bound is this plus Redis's latency. */
  cacheMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  /** null: no record, nothing changed lately. */
  user: UserAuthorization | null;
  grantRevoked: boolean;
  unreadable: boolean;
  fetchedAtMs: number;
}

const LOST = new Set(['reconnecting', 'close', 'end']);
/** Longer than this, and Redis is taken as unreachable: a hanging Redis must not hold requests up. */
const FETCH_TIMEOUT_MS = 500;
/** After a failed or hung lookup, answer `unknown` at once for this long instead of waiting again. */
const BACK_OFF_MS = 1_000;
const CURRENT: FreshnessVerdict = { state: 'current' };
const UNKNOWN: FreshnessVerdict = { state: 'unknown' };
export const DEFAULT_FRESHNESS_CACHE_MS = 1_000;

/**
 * Is a verified token still backed by its owner's current rights? Looks up the records auth
 * keeps in Redis (see `authorization-state.ts`) with one MGET per (user, grant) per `cacheMs`;
 * within that, a request costs a map lookup. Concurrent misses share one round trip.
 *
 * When Redis cannot answer, a revocation already seen is never forgotten; anything else is
 * `unknown`, and `authorize` decides what that means (privileged tokens are refused).
 */
export class AuthorizationFreshness {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Entry | null>>();
  private readonly cacheMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private unreachableUntilMs = 0;

  constructor(
    private readonly redis: Redis,
    options: AuthorizationFreshnessOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? DEFAULT_FRESHNESS_CACHE_MS;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
    // Back from an outage: ask again at once, rather than refuse privileged tokens for the rest of the back-off.
    redis.on('ready', () => {
      this.unreachableUntilMs = 0;
    });
  }

  async check(principal: Principal): Promise<FreshnessVerdict> {
    const key = principal.grantId === null ? principal.ownerId : `${principal.ownerId} ${principal.grantId}`;
    const cached = this.entries.get(key);
    if (cached !== undefined && this.now() - cached.fetchedAtMs < this.cacheMs) return verdictOf(cached, principal);
    const fetched = await this.fetchShared(key, principal);
    if (fetched !== null) return verdictOf(fetched, principal);
    if (cached !== undefined) {
      const last = verdictOf(cached, principal);
      if (last.state === 'revoked') return last;
    }
    return UNKNOWN;
  }

  /**
   * The rule every entry point applies (REST hooks, the gateway, and a GraphQL resolver path
   * alike): a revoked token is refused; while freshness is unknown, a token that carries any
   * scope is refused with 503 (it could be a demoted admin's), and one that carries none (a
   * customer's, reaching only their own resources) is accepted, bounded by its own expiry.
   */
  async authorize(principal: Principal): Promise<void> {
    const problem = refusalOf(await this.check(principal), principal);
    if (problem !== null) throw problem;
  }

  get size(): number {
    return this.entries.size;
  }

  private fetchShared(key: string, principal: Principal): Promise<Entry | null> {
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const fetch = this.fetch(key, principal).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, fetch);
    return fetch;
  }

  private async fetch(key: string, principal: Principal): Promise<Entry | null> {
    // Lost: answer at once rather than queue behind reconnection attempts. (While the first
    // connection is being made, at start, the command waits for it, bounded by its timeout.)
    if (LOST.has(this.redis.status) || this.now() < this.unreachableUntilMs) return null;
    const keys = [authorizationKeys.user(principal.ownerId)];
    if (principal.grantId !== null) keys.push(authorizationKeys.grant(principal.grantId));
    let values: (string | null)[];
    let timer: NodeJS.Timeout | undefined;
    try {
      values = await Promise.race([
        this.redis.mget(...keys),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('authorization state lookup timed out')), FETCH_TIMEOUT_MS);
        }),
      ]);
    } catch {
      this.unreachableUntilMs = this.now() + BACK_OFF_MS;
      return null;
    } finally {
      clearTimeout(timer);
    }
    const [userValue = null, grantValue = null] = values;
    const user = parseUserAuthorization(userValue);
    const entry: Entry = {
      user,
      grantRevoked: grantValue !== null,
      unreadable: userValue !== null && user === null,
      fetchedAtMs: this.now(),
    };
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, entry);
    return entry;
  }
}

function verdictOf(entry: Entry, principal: Principal): FreshnessVerdict {
  if (entry.grantRevoked) return { state: 'revoked', reason: 'grant-revoked' };
  if (entry.user?.disabled) return { state: 'revoked', reason: 'disabled' };
  if (entry.user !== null && principal.authzVersion < entry.user.version) return { state: 'revoked', reason: 'rights-changed' };
  if (entry.unreadable) return UNKNOWN;
  return CURRENT;
}

const REVOKED_DETAIL: Record<RevocationReason, string> = {
  disabled: 'The account is disabled',
  'rights-changed': "The account's rights changed since this token was issued: refresh it or sign in again",
  'grant-revoked': 'This session was signed out (or the API key revoked)',
};

/** The problem a verdict answers with, or null when the request may go on. */
export function refusalOf(verdict: FreshnessVerdict, principal: Principal): AppError | null {
  if (verdict.state === 'current') return null;
  if (verdict.state === 'unknown') {
    if (principal.scopes.length === 0) return null;
    return new AppError('AUTH_FRESHNESS_UNAVAILABLE', 'Privileged access is paused until the authorization state can be checked; try again shortly', {
      headers: { 'retry-after': '1' },
    });
  }
  if (verdict.reason === 'disabled' && principal.kind === 'user') return new AppError('AUTH_ACCOUNT_DISABLED', REVOKED_DETAIL.disabled);
  const detail = verdict.reason === 'disabled' ? "The API key's creator is disabled" : REVOKED_DETAIL[verdict.reason];
  return new AppError('AUTH_TOKEN_REVOKED', detail, {
    headers: { 'www-authenticate': `Bearer realm="shop", error="invalid_token", error_description="${detail.replaceAll('"', "'")}"` },
  });
}
