import { randomUUID } from 'node:crypto';
import { AppError } from '@shop/service-kit';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

export interface SocketLimitSettings {
  maxPerUser: number;
  maxPerAddress: number;
  /** A lease not renewed for this long is forgotten (its replica died without releasing it). */
  leaseMs?: number;
}

/** A held place among the open sockets; `release` when the socket closes (idempotent). */
export interface SocketLease {
  release(): void;
}

/**
 * Takes a place for a user and an address only if both have room; leases are the sorted-set
 * members, scored by when they expire, so a dead replica's sockets stop counting on their own.
 */
const ACQUIRE = `
for _, key in ipairs(KEYS) do redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1]) end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 2 end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[2], ARGV[3])
  redis.call('PEXPIRE', key, ARGV[6])
end
return 0`;

/**
 * At most `maxPerUser` open WebSockets per user and `maxPerAddress` per client address, across
 * every gateway replica (leases in Redis, renewed while the socket lives). While Redis is down,
 * each replica enforces the same caps on its own sockets: the caps still hold per replica.
 */
export class SocketLimits {
  private readonly leaseMs: number;
  private readonly local = new Map<string, Set<string>>();
  private readonly renewal: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly log: FastifyBaseLogger,
    private readonly settings: SocketLimitSettings,
  ) {
    this.leaseMs = settings.leaseMs ?? 60_000;
    this.renewal = setInterval(() => void this.renew(), this.leaseMs / 3);
    this.renewal.unref();
  }

  /** A lease for one more socket, or 429 GATEWAY_TOO_MANY_SOCKETS naming which cap was reached. */
  async acquire(userId: string, address: string): Promise<SocketLease> {
    const keys = [`ws:user:${userId}`, `ws:address:${address}`];
    const id = randomUUID();
    const now = Date.now();
    let verdict: number;
    try {
      verdict = Number(
        await this.redis.eval(ACQUIRE, 2, keys[0]!, keys[1]!, now, now + this.leaseMs, id, this.settings.maxPerUser, this.settings.maxPerAddress, this.leaseMs),
      );
    } catch (error) {
      this.log.warn({ err: error }, 'socket limits: Redis unavailable, counting this replica only');
      verdict = this.localVerdict(keys);
    }
    if (verdict === 1) throw tooMany(`at most ${this.settings.maxPerUser} open WebSockets per user`);
    if (verdict === 2) throw tooMany(`at most ${this.settings.maxPerAddress} open WebSockets per client address`);
    for (const key of keys) {
      const members = this.local.get(key) ?? new Set<string>();
      members.add(id);
      this.local.set(key, members);
    }
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        for (const key of keys) {
          const members = this.local.get(key);
          members?.delete(id);
          if (members?.size === 0) this.local.delete(key);
          void this.redis.zrem(key, id).catch(() => undefined);
        }
      },
    };
  }

  close(): void {
    clearInterval(this.renewal);
  }

  private localVerdict(keys: string[]): number {
    if ((this.local.get(keys[0]!)?.size ?? 0) >= this.settings.maxPerUser) return 1;
    if ((this.local.get(keys[1]!)?.size ?? 0) >= this.settings.maxPerAddress) return 2;
    return 0;
  }

  /** Pushes every live lease's expiry forward (and restores leases Redis lost while it was down). */
  private async renew(): Promise<void> {
    if (this.local.size === 0) return;
    const expiry = Date.now() + this.leaseMs;
    const pipeline = this.redis.pipeline();
    for (const [key, members] of this.local) {
      for (const member of members) pipeline.zadd(key, expiry, member);
      pipeline.pexpire(key, this.leaseMs);
    }
    await pipeline.exec().catch(() => undefined);
  }
}

function tooMany(detail: string): AppError {
  return new AppError('GATEWAY_TOO_MANY_SOCKETS', `${detail}; close one first`, { headers: { 'retry-after': '1' } });
}
