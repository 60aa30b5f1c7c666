import { createHash } from 'node:crypto';
import type { Page, Product } from '@shop/contracts';
import type { Redis } from 'ioredis';

/** Where the cache reports Redis trouble: the app's logger, or the console in scripts. */
export interface CacheLogger {
  warn(details: object, message: string): void;
}

export interface ProductCacheOptions {
  productTtlSeconds: number;
  listTtlSeconds: number;
  /** After a Redis failure, how long to go straight to the database before trying Redis again. */
  retryAfterMs?: number;
  /** Past this many products awaiting invalidation, recovery drops every cached product instead. */
  maxPendingProducts?: number;
  /** Told of every read: served from Redis (hit), loaded and stored (miss), or Redis skipped (bypass: off, down or failing). */
  onLookup?: (cache: 'product' | 'list', result: CacheLookupResult) => void;
}

export type CacheLookupResult = 'hit' | 'miss' | 'bypass';

const keys = {
  product: (id: string) => `product:${id}`,
  /** Bumped on every change of the product; a reader only caches what it loaded if it did not move. */
  productStamp: (id: string) => `product-stamp:${id}`,
  /** Bumped on every change of any product; part of every list page's key, so old pages are never read again. */
  listGeneration: 'products:list-generation',
  listPage: (generation: string, fingerprint: string) => `products:list:${generation}:${fingerprint}`,
};

/** Longer than any database read can take, so a stamp never expires under a reader that watches it. */
const STAMP_TTL_SECONDS = 86_400;

/** SET the product only if its stamp is still what the reader saw before it went to the database. */
const SET_IF_STAMP_UNCHANGED = `
  local stamp = redis.call('GET', KEYS[2]) or ''
  if stamp == ARGV[2] then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
    return 1
  end
  return 0`;

interface StampedRedis extends Redis {
  setIfStampUnchanged(key: string, stampKey: string, value: string, stamp: string, ttlSeconds: number): Promise<number>;
}

/**
 * Read-through cache of products and product list pages in Redis, invalidated on every change so a
 * change is visible to every reader (every replica) as soon as the write returns.
 *
 * Redis is an optimisation, never a dependency: while it is unreachable (or just failed a command)
 * every read goes to the database and costs nothing extra, and invalidations that could not be
 * sent are remembered and sent first thing when Redis answers again, before anything is read
 * from it, so no reader ever gets a value that a change made while Redis was away has outdated.
 */
export class ProductCache {
  readonly #redis: StampedRedis | null;
  readonly #log: CacheLogger;
  readonly #options: Required<ProductCacheOptions>;
  /** Products changed but not yet invalidated in Redis. */
  readonly #pending = new Set<string>();
  /** Too many changes to remember one by one: drop every cached product on recovery. */
  #pendingAll = false;
  #pausedUntil = 0;
  #flushing: Promise<boolean> | null = null;
  #retryTimer: NodeJS.Timeout | null = null;

  /** `redis` null: caching is off and every read goes to the database. */
  constructor(redis: Redis | null, log: CacheLogger, options: ProductCacheOptions) {
    this.#log = log;
    this.#options = { retryAfterMs: 1_000, maxPendingProducts: 10_000, onLookup: () => undefined, ...options };
    if (redis) {
      redis.defineCommand('setIfStampUnchanged', { numberOfKeys: 2, lua: SET_IF_STAMP_UNCHANGED });
      // Reconnected: send what was missed at once, rather than on the next request.
      redis.on('ready', () => void this.#usable());
    }
    this.#redis = redis as StampedRedis | null;
  }

  /** Whether reads are served from Redis right now (for health and tests). */
  get active(): boolean {
    return this.#redis !== null && this.#redis.status === 'ready' && Date.now() >= this.#pausedUntil && !this.#hasPending();
  }

  async getProduct(id: string, load: () => Promise<Product | null>): Promise<Product | null> {
    const redis = this.#redis;
    const lookup = this.#options.onLookup;
    if (!redis || !(await this.#usable())) {
      lookup('product', 'bypass');
      return load();
    }
    let stamp: string;
    try {
      const [cached, currentStamp] = await redis.mget(keys.product(id), keys.productStamp(id));
      if (cached) {
        lookup('product', 'hit');
        return JSON.parse(cached) as Product;
      }
      stamp = currentStamp ?? '';
    } catch (error) {
      this.#trip(error);
      lookup('product', 'bypass');
      return load();
    }
    lookup('product', 'miss');
    const product = await load();
    if (product) {
      await this.#attempt(() =>
        redis.setIfStampUnchanged(keys.product(id), keys.productStamp(id), JSON.stringify(product), stamp, this.#options.productTtlSeconds),
      );
    }
    return product;
  }

  /** `query` identifies the page: every parameter that changes its content, cursor included. */
  async getList(query: Record<string, unknown>, load: () => Promise<Page<Product>>): Promise<Page<Product>> {
    const redis = this.#redis;
    const lookup = this.#options.onLookup;
    if (!redis || !(await this.#usable())) {
      lookup('list', 'bypass');
      return load();
    }
    let key: string;
    try {
      const generation = (await redis.get(keys.listGeneration)) ?? '0';
      key = keys.listPage(generation, fingerprint(query));
      const cached = await redis.get(key);
      if (cached) {
        lookup('list', 'hit');
        return JSON.parse(cached) as Page<Product>;
      }
    } catch (error) {
      this.#trip(error);
      lookup('list', 'bypass');
      return load();
    }
    lookup('list', 'miss');
    // Loaded after the generation was read: if a change lands meanwhile, this page is stored under
    // the generation it outdated, where nobody looks any more.
    const page = await load();
    await this.#attempt(() => redis.set(key, JSON.stringify(page), 'EX', this.#options.listTtlSeconds));
    return page;
  }

  /**
   * Call after a change committed (a write or a stock movement). Resolves once Redis has forgotten
   * the old values, or at once when Redis is away, in which case it is done on recovery.
   */
  async productsChanged(productIds: string[]): Promise<void> {
    if (!this.#redis) return;
    for (const id of productIds) this.#pending.add(id);
    if (this.#pending.size > this.#options.maxPendingProducts) {
      this.#pendingAll = true;
      this.#pending.clear();
    }
    await this.#usable();
  }

  /** Waits (up to `timeoutMs`) until every change has been invalidated in Redis; false if Redis stayed away. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#hasPending()) {
      if (Date.now() > deadline) return false;
      if (!(await this.#usable())) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
  }

  close(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #hasPending(): boolean {
    return this.#pending.size > 0 || this.#pendingAll;
  }

  /** True when Redis may be read: connected, not recently failed, and told of every change. */
  async #usable(): Promise<boolean> {
    const redis = this.#redis;
    if (!redis || redis.status !== 'ready' || Date.now() < this.#pausedUntil) return false;
    if (!this.#hasPending()) return true;
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  /** Sends every pending invalidation; true when none is left. */
  async #flush(): Promise<boolean> {
    const redis = this.#redis!;
    while (this.#hasPending()) {
      const ids = [...this.#pending];
      const all = this.#pendingAll;
      try {
        const transaction = redis.multi();
        for (const id of ids) {
          transaction.incr(keys.productStamp(id)).expire(keys.productStamp(id), STAMP_TTL_SECONDS).del(keys.product(id));
        }
        transaction.incr(keys.listGeneration);
        const results = await transaction.exec();
        const failed = results?.find(([error]) => error !== null);
        if (!results || failed) throw failed?.[0] ?? new Error('redis transaction discarded');
        if (all) await this.#dropEveryProduct(redis);
      } catch (error) {
        this.#trip(error);
        return false;
      }
      for (const id of ids) this.#pending.delete(id);
      if (all) this.#pendingAll = false;
    }
    return true;
  }

  async #dropEveryProduct(redis: Redis): Promise<void> {
    const prefix = redis.options.keyPrefix ?? '';
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}product:*`, 'COUNT', 1_000);
      cursor = next;
      // SCAN answers full key names; the client adds the prefix again, so take it off.
      if (found.length > 0) await redis.unlink(...found.map((key) => key.slice(prefix.length)));
    } while (cursor !== '0');
  }

  /** Best effort: a failed cache write only costs a future miss. */
  async #attempt(command: () => Promise<unknown>): Promise<void> {
    try {
      await command();
    } catch (error) {
      this.#trip(error);
    }
  }

  /** Go straight to the database for a while: one slow Redis must not cost every request a timeout. */
  #trip(error: unknown): void {
    const wasActive = Date.now() >= this.#pausedUntil;
    this.#pausedUntil = Date.now() + this.#options.retryAfterMs;
    if (wasActive) this.#log.warn({ err: error }, 'product cache: redis failed; reading from the database until it answers again');
    this.#scheduleRetry();
  }

  /** Other replicas still read Redis: send missed invalidations as soon as allowed, not on our next request. */
  #scheduleRetry(): void {
    if (this.#retryTimer !== null) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (!this.#hasPending()) return;
      if (Date.now() < this.#pausedUntil) this.#scheduleRetry();
      else void this.#usable();
    }, Math.max(0, this.#pausedUntil - Date.now()) + 10);
    this.#retryTimer.unref();
  }
}

/** A stable key for a query: parameters in a fixed order, absent ones left out. */
function fingerprint(query: Record<string, unknown>): string {
  const entries = Object.entries(query)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(entries)).digest('base64url');
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
