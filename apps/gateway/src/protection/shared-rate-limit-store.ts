import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

/** @fastify/rate-limit's store contract (its type only describes `child` with route options). */
export interface RateLimitStore {
  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
  child(params: { groupId?: string; syncMs?: number }): RateLimitStore;
}

export interface SharedRateLimitOptions {
  /**
   * 0: every request is one Redis round trip, so every replica sees every count at once.
   * More: each replica counts in memory and adds its counts to Redis this often (write-behind).
   */
  syncMs: number;
  /** Keys a store remembers; beyond this the oldest is forgotten (its next request asks Redis again). */
  maxKeys?: number;
}

/** INCRBY with the window set on the first hit: atomic across gateway replicas. Returns [count, ttl ms]. */
const INCREMENT_SCRIPT = `
local current = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}
`;

type Counted = [count: number, ttlMs: number];
type RedisWithScript = Redis & {
  gatewayRateLimit(key: string, windowMs: number, increment: number, callback: (error: Error | null, result?: Counted) => void): void;
};

interface KeyState {
  /** The count in Redis when this replica last heard it (its own sent counts included). */
  shared: number;
  /** Counted here, not yet added in Redis. */
  pending: number;
  /** Being added in Redis right now. */
  sending: number;
  windowMs: number;
  resetAtMs: number;
  /** When `shared` was read from Redis; -Infinity if never (counted while Redis was away). */
  syncedAtMs: number;
}

export interface SharedRateLimitStores {
  /** The class @fastify/rate-limit instantiates (`store` option). */
  Store: new (params?: { syncMs?: number }) => RateLimitStore;
  /** Sends every pending count now (tests; shutdown). */
  flush(): Promise<void>;
  /** Stops the sync timers after a last flush. */
  close(): Promise<void>;
}

/**
 * Fixed-window counters in Redis, shared by every gateway replica, for @fastify/rate-limit.
 *
 * With `syncMs` 0 each request is an INCR in Redis: exact, at one round trip per request (the
 * login limiter, where a few requests matter). With `syncMs` > 0 the counters are write-behind,
 * as Kong's `sync_rate`: a replica asks Redis for a key's count on the key's first request (so
 * a restarted replica or a new window starts from the shared figure), then counts in memory
 * and adds its counts in one pipelined INCRBY per key every `syncMs`, learning the other
 * replicas' counts from the answer. A replica is exact about its own requests; another
 * replica's show up at its next sync, or, on a key it has been quiet on for 2 × `syncMs`, by
 * asking Redis again; so N replicas admit at most about (N - 1) × (rate × 2 × syncMs)
 * requests over a limit. That buys a request free of a Redis round
 * trip, which was a quarter of the gateway's work per request.
 *
 * Redis down (fail open, but not unlimited): counting goes on in memory and each replica still
 * enforces the limits on its own; a Redis that is down is not even tried (no connect wait per
 * request), and what was counted meanwhile is added in Redis once the client reconnects.
 */
export function createSharedRateLimitStores(redis: Redis, log: FastifyBaseLogger, defaults: SharedRateLimitOptions): SharedRateLimitStores {
  const scripted = redis as RedisWithScript;
  if (typeof scripted.gatewayRateLimit !== 'function') {
    redis.defineCommand('gatewayRateLimit', { numberOfKeys: 1, lua: INCREMENT_SCRIPT });
  }
  const now = Date.now;
  const maxKeys = defaults.maxKeys ?? 50_000;
  const stores = new Set<SharedRateLimitStore>();

  let degraded = false;
  const degrade = (error?: Error) => {
    if (degraded) return;
    degraded = true;
    log.warn({ err: error }, 'rate limits are counted in memory while Redis is unavailable');
  };
  const recover = () => {
    if (!degraded) return;
    degraded = false;
    log.info('rate limits are counted in Redis again');
  };

  class SharedRateLimitStore implements RateLimitStore {
    private readonly keys = new Map<string, KeyState>();
    /** Keys with counts to send. */
    private readonly dirty = new Set<string>();
    private readonly syncMs: number;
    private timer: NodeJS.Timeout | null = null;
    private flushing: Promise<void> | null = null;

    constructor(
      params?: { syncMs?: number },
      private readonly namespace = 'rate-limit:',
    ) {
      this.syncMs = params?.syncMs ?? defaults.syncMs;
      stores.add(this);
    }

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const at = now();
      let state = this.keys.get(key);
      if (state !== undefined && state.resetAtMs <= at) {
        // The window is over; what it still had to send belongs to it, not to the next one.
        this.forget(key);
        state = undefined;
      }

      if (redis.status !== 'ready') {
        degrade();
        callback(null, this.countLocally(key, state, timeWindow, at));
        return;
      }
      // Heard from Redis recently enough: count here, send later.
      if (state !== undefined && this.syncMs > 0 && at - state.syncedAtMs <= 2 * this.syncMs) {
        callback(null, this.countLocally(key, state, timeWindow, at));
        return;
      }

      // Ask Redis, sending along whatever this replica counted while it could not.
      const increment = 1 + (state?.pending ?? 0);
      if (state !== undefined) {
        state.pending = 0;
        this.dirty.delete(key);
      }
      scripted.gatewayRateLimit(this.namespace + key, timeWindow, increment, (error, result) => {
        if (error || !result) {
          degrade(error ?? undefined);
          const current = this.keys.get(key);
          const counted = this.countLocally(key, current, timeWindow, now(), increment);
          callback(null, counted);
          return;
        }
        recover();
        const [count, ttl] = result;
        const answeredAt = now();
        if (this.syncMs > 0) {
          const latest = this.keys.get(key);
          // Requests counted here while the answer was on its way are on top of Redis's count.
          const pendingMeanwhile = latest?.pending ?? 0;
          this.remember(key, { shared: count, pending: pendingMeanwhile, sending: 0, windowMs: timeWindow, resetAtMs: answeredAt + ttl, syncedAtMs: answeredAt });
          callback(null, { current: count + pendingMeanwhile, ttl });
        } else {
          this.forget(key);
          callback(null, { current: count, ttl });
        }
      });
    }

    child(params: { groupId?: string; syncMs?: number }): RateLimitStore {
      return new SharedRateLimitStore({ syncMs: params.syncMs ?? this.syncMs }, `rate-limit:${params.groupId ?? 'default'}:`);
    }

    /** Adds every pending count in Redis, in one pipeline; counts that cannot be sent stay pending. */
    flush(): Promise<void> {
      if (this.flushing) return this.flushing;
      if (this.dirty.size === 0 || redis.status !== 'ready') return Promise.resolve();
      this.flushing = this.send().finally(() => {
        this.flushing = null;
      });
      return this.flushing;
    }

    stop(): void {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
    }

    private async send(): Promise<void> {
      const batch: [string, KeyState, number][] = [];
      for (const key of this.dirty) {
        const state = this.keys.get(key);
        if (state === undefined || state.pending === 0) continue;
        batch.push([key, state, state.pending]);
        state.sending = state.pending;
        state.pending = 0;
      }
      this.dirty.clear();
      if (batch.length === 0) return;

      const pipeline = redis.pipeline();
      for (const [key, state, increment] of batch) {
        (pipeline as unknown as RedisWithScript).gatewayRateLimit(this.namespace + key, state.windowMs, increment, () => undefined);
      }
      const results = await pipeline.exec().catch((error: Error) => batch.map((): [Error, null] => [error, null]));
      const answeredAt = now();
      batch.forEach(([key, state, increment], index) => {
        state.sending = 0;
        const [error, result] = results?.[index] ?? [new Error('no reply'), null];
        if (this.keys.get(key) !== state) return; // forgotten meanwhile (window over, or evicted)
        if (error || !result) {
          degrade(error ?? undefined);
          state.pending += increment;
          this.dirty.add(key);
          return;
        }
        recover();
        const [count, ttl] = result as Counted;
        state.shared = count;
        state.resetAtMs = answeredAt + ttl;
        state.syncedAtMs = answeredAt;
      });
    }

    private countLocally(key: string, state: KeyState | undefined, windowMs: number, at: number, increment = 1): { current: number; ttl: number } {
      let counted = state;
      if (counted === undefined) {
        counted = { shared: 0, pending: 0, sending: 0, windowMs, resetAtMs: at + windowMs, syncedAtMs: -Infinity };
        this.remember(key, counted);
      }
      counted.pending += increment;
      this.dirty.add(key);
      this.startTimer();
      return { current: counted.shared + counted.sending + counted.pending, ttl: counted.resetAtMs - at };
    }

    private remember(key: string, state: KeyState): void {
      this.keys.delete(key);
      if (this.keys.size >= maxKeys) this.forget(this.keys.keys().next().value!);
      this.keys.set(key, state);
      if (state.pending > 0) this.dirty.add(key);
    }

    private forget(key: string): void {
      this.keys.delete(key);
      this.dirty.delete(key);
    }

    private startTimer(): void {
      if (this.timer !== null) return;
      // Exact stores (syncMs 0) only count in memory while Redis is away: send those on recovery.
      const every = this.syncMs > 0 ? this.syncMs : 1_000;
      this.timer = setInterval(() => void this.flush(), every);
      this.timer.unref();
    }
  }

  return {
    Store: SharedRateLimitStore,
    async flush() {
      await Promise.all([...stores].map((store) => store.flush()));
    },
    async close() {
      for (const store of stores) store.stop();
      await Promise.all([...stores].map((store) => store.flush()));
    },
  };
}
