import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

/** @fastify/rate-limit's store contract (its type only describes `child` with route options). */
export interface RateLimitStore {
  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
  child(params: { groupId?: string }): RateLimitStore;
}

/** INCR with the window set on the first hit: one round trip, atomic across gateway replicas. */
const INCREMENT_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return {current, tonumber(ARGV[1])}
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}
`;

type RedisWithScript = Redis & {
  gatewayRateLimit(key: string, windowMs: number, callback: (error: Error | null, result?: [number, number]) => void): void;
};

/**
 * Counts in Redis, shared by every gateway replica. While Redis is unreachable it counts in this
 * process's memory instead (fail open, but not unlimited): the API stays up, and each replica
 * still enforces the limits on its own, so the effective limit is at most replicas × the limit.
 * A Redis that is down is not even tried (no per-request connect wait); counting moves back to
 * Redis as soon as the client reconnects.
 */
export function createFallbackStoreClass(redis: Redis, log: FastifyBaseLogger, localMaxKeys = 50_000) {
  const scripted = redis as RedisWithScript;
  if (typeof scripted.gatewayRateLimit !== 'function') {
    redis.defineCommand('gatewayRateLimit', { numberOfKeys: 1, lua: INCREMENT_SCRIPT });
  }
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

  return class FallbackRateLimitStore implements RateLimitStore {
    private readonly local: LocalWindowCounter;

    constructor(
      _params?: unknown,
      private readonly namespace = 'rate-limit:',
    ) {
      this.local = new LocalWindowCounter(localMaxKeys);
    }

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      if (redis.status !== 'ready') {
        degrade();
        callback(null, this.local.increment(key, timeWindow));
        return;
      }
      scripted.gatewayRateLimit(this.namespace + key, timeWindow, (error, result) => {
        if (error || !result) {
          degrade(error ?? undefined);
          callback(null, this.local.increment(key, timeWindow));
          return;
        }
        recover();
        callback(null, { current: result[0], ttl: result[1] });
      });
    }

    child(params: { groupId?: string }): RateLimitStore {
      return new FallbackRateLimitStore(params, `rate-limit:${params.groupId ?? 'default'}:`);
    }
  };
}

/** Fixed windows in memory, bounded (oldest key out first). */
export class LocalWindowCounter {
  private readonly windows = new Map<string, { count: number; resetAtMs: number }>();

  constructor(
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  increment(key: string, windowMs: number): { current: number; ttl: number } {
    const now = this.now();
    let window = this.windows.get(key);
    if (window === undefined || window.resetAtMs <= now) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      window = { count: 0, resetAtMs: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { current: window.count, ttl: window.resetAtMs - now };
  }
}
