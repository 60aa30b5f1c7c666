import { createHash } from 'node:crypto';
import { AppError, isAppError } from '@shop/service-kit';
import type { Upstream } from '../upstream/upstream';
import { UpstreamError } from '../upstream/upstream-error';

export const API_KEY_EXCHANGE_PATH = '/internal/v1/api-keys/exchange';

interface Entry {
  /** The exchanged access token, or null: auth said the key is not valid. */
  accessToken: string | null;
  freshUntilMs: number;
}

export interface ApiKeyExchangeOptions {
  /** Upper bound of reuse; keeps a revoked key alive for at most this long (contract: 5 s). */
  cacheMs: number;
  timeoutMs: number;
  maxEntries?: number;
  now?: () => number;
  /** Told of every answer: from the cache, exchanged at auth, refused by auth, or failed (auth unreachable or unreadable). */
  onResult?: (result: ApiKeyExchangeResult) => void;
}

export type ApiKeyExchangeResult = 'cached' | 'exchanged' | 'refused' | 'failed';

/** Re-exchange this long before the token expires, so a cached token is never sent stale. */
const EXPIRY_MARGIN_MS = 5_000;

/**
 * Trades `X-Api-Key` for a short-lived access token at auth's internal endpoint, so services only
 * ever see JWTs. Answers, refusals included, are reused for a few seconds (never past the
 * token's expiry), keyed by a hash of the key: the key itself is never kept in memory longer
 * than a request. Concurrent requests with the same key share one exchange.
 */
export class ApiKeyExchanger {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(
    private readonly auth: Upstream,
    private readonly options: ApiKeyExchangeOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** The cached access token for this key, if there is a fresh one (no network). */
  cached(apiKey: string): string | undefined {
    const entry = this.entries.get(hashOf(apiKey));
    if (entry === undefined || this.now() >= entry.freshUntilMs || entry.accessToken === null) return undefined;
    this.options.onResult?.('cached');
    return entry.accessToken;
  }

  /** Drops the cached token of this key (it was revoked: its creator's rights changed), so the next request exchanges again. */
  forget(apiKey: string): void {
    this.entries.delete(hashOf(apiKey));
  }

  /** An access token for the key; AUTH_API_KEY_INVALID when auth refuses it, UpstreamError when auth cannot answer. */
  exchange(apiKey: string, headers: Record<string, string>): Promise<string> {
    const hash = hashOf(apiKey);
    const entry = this.entries.get(hash);
    if (entry !== undefined && this.now() < entry.freshUntilMs) {
      this.options.onResult?.('cached');
      return entry.accessToken === null ? Promise.reject(invalidKey()) : Promise.resolve(entry.accessToken);
    }
    const pending = this.inFlight.get(hash);
    if (pending !== undefined) return pending;
    const exchange = this.ask(apiKey, hash, headers).then(
      (accessToken) => {
        this.options.onResult?.('exchanged');
        return accessToken;
      },
      (error: unknown) => {
        this.options.onResult?.(isAppError(error) && error.code === 'AUTH_API_KEY_INVALID' ? 'refused' : 'failed');
        throw error;
      },
    ).finally(() => this.inFlight.delete(hash));
    this.inFlight.set(hash, exchange);
    return exchange;
  }

  private async ask(apiKey: string, hash: string, headers: Record<string, string>): Promise<string> {
    const response = await this.auth.send({
      method: 'POST',
      path: API_KEY_EXCHANGE_PATH,
      headers: { ...headers, 'x-api-key': apiKey },
      timeoutMs: this.options.timeoutMs,
      // Minting a token changes nothing that a second attempt could break.
      repeatable: true,
    });
    if (response.statusCode === 401) {
      this.remember(hash, { accessToken: null, freshUntilMs: this.now() + this.options.cacheMs });
      throw invalidKey();
    }
    if (response.statusCode === 502 || response.statusCode === 503 || response.statusCode === 504) {
      throw new UpstreamError(this.auth.name, 'unavailable');
    }
    const exchanged = response.statusCode === 200 ? parseExchange(response.body) : null;
    if (exchanged === null) {
      throw new AppError('GATEWAY_BAD_UPSTREAM_RESPONSE', 'The auth service could not exchange the API key');
    }
    const reuseMs = Math.min(this.options.cacheMs, exchanged.expiresIn * 1000 - EXPIRY_MARGIN_MS);
    if (reuseMs > 0) this.remember(hash, { accessToken: exchanged.accessToken, freshUntilMs: this.now() + reuseMs });
    return exchanged.accessToken;
  }

  private remember(hash: string, entry: Entry): void {
    if (this.options.cacheMs <= 0) return;
    this.entries.delete(hash);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(hash, entry);
  }
}

function hashOf(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('base64url');
}

function invalidKey(): AppError {
  return new AppError('AUTH_API_KEY_INVALID', 'The API key is unknown or revoked', {
    headers: { 'www-authenticate': 'ApiKey realm="shop", error="invalid_key"' },
  });
}

function parseExchange(body: Buffer): { accessToken: string; expiresIn: number } | null {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { accessToken?: unknown; expiresIn?: unknown };
    if (typeof parsed.accessToken !== 'string' || typeof parsed.expiresIn !== 'number') return null;
    return { accessToken: parsed.accessToken, expiresIn: parsed.expiresIn };
  } catch {
    return null;
  }
}
