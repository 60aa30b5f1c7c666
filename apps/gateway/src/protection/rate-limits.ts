import rateLimit, { type FastifyRateLimitStoreCtor, type RateLimitOptions } from '@fastify/rate-limit';
import type { PublicOperation } from '@shop/contracts';
import { AppError } from '@shop/service-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import type { GatewayConfig } from '../config';
import type { RateLimitClass } from '../observability/metrics';
import { createSharedRateLimitStores } from './shared-rate-limit-store';

export interface RateLimiters {
  /** Per principal when signed in, per address when anonymous. */
  default: onRequestAsyncHookHandler;
  /** Login and registration: per address, stricter. */
  login: onRequestAsyncHookHandler;
  /**
   * Counts a request that already passed `default` `times` more against the same limit (a costly
   * GraphQL query); over the limit it throws the same 429.
   */
  countMore(request: FastifyRequest, reply: FastifyReply, times: number): Promise<void>;
}

/** @fastify/rate-limit's mark on a request it has counted: it counts a request once, whatever the hooks. */
const COUNTED_MARK = 'fastify.request.rateLimitRan';

function forgetCounted(request: FastifyRequest): void {
  for (const symbol of Object.getOwnPropertySymbols(request)) {
    if (symbol.description === COUNTED_MARK) (request as unknown as Record<symbol, boolean>)[symbol] = false;
  }
}

/** The limiter of an operation's rate-limit class (declared in the operation table). */
export function limiterOf(limiters: RateLimiters, operation: PublicOperation): onRequestAsyncHookHandler {
  if (operation.rateLimit === 'none') throw new Error(`${operation.operationId} is declared without a rate limit`);
  return limiters[operation.rateLimit];
}

const principalOrAddress = (request: FastifyRequest) =>
  request.principal === null ? `address:${request.ip}` : `principal:${request.principal.userId}`;

/**
 * Rate limits counted in Redis and shared by every replica (@fastify/rate-limit with the store
 * of `createSharedRateLimitStores`). Responses carry `RateLimit-Limit`, `RateLimit-Remaining`
 * and `RateLimit-Reset`; over the limit, a 429 problem with `Retry-After`. The limiters are
 * hooks placed on each route explicitly, after the edge has identified the caller (so it can
 * count per principal) and before anything costs a service a thing.
 *
 * The general limit syncs its counts every RATE_LIMIT_SYNC_MS (no Redis round trip on a
 * request's path); login and registration count in Redis on every request, because there a
 * handful of extra attempts is what the limit exists to stop.
 */
export async function installRateLimits(
  app: FastifyInstance,
  redis: Redis,
  config: GatewayConfig,
  onRejected: (rateLimitClass: RateLimitClass) => void = () => undefined,
): Promise<RateLimiters> {
  // The commands of concurrent requests share one write and one read.
  redis.options.enableAutoPipelining = true;
  const stores = createSharedRateLimitStores(redis, app.log, { syncMs: config.RATE_LIMIT_SYNC_MS });
  app.addHook('onClose', () => stores.close());
  await app.register(rateLimit, {
    global: false,
    enableDraftSpec: true,
    store: stores.Store as unknown as FastifyRateLimitStoreCtor,
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `Rate limit exceeded; retry in ${context.after}`),
  });
  // `syncMs` goes to the store's `child` with the rest of the options (see RateLimitStore).
  const limiter = (options: RateLimitOptions & { syncMs?: number }) => app.rateLimit(options) as unknown as onRequestAsyncHookHandler;
  const defaultLimiter = limiter({
    groupId: 'default',
    keyGenerator: principalOrAddress,
    max: (request) => (request.principal === null ? config.RATE_LIMIT_ANONYMOUS_MAX : config.RATE_LIMIT_MAX),
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    onExceeded: (request) => onRejected(request.principal === null ? 'anonymous' : 'principal'),
  });
  return {
    default: defaultLimiter,
    countMore: async (request, reply, times) => {
      for (let count = 0; count < times; count += 1) {
        forgetCounted(request);
        await defaultLimiter.call(app, request, reply);
      }
    },
    login: limiter({
      groupId: 'login',
      keyGenerator: (request) => `address:${request.ip}`,
      max: config.RATE_LIMIT_LOGIN_MAX,
      timeWindow: config.RATE_LIMIT_LOGIN_WINDOW_MS,
      onExceeded: () => onRejected('login'),
      syncMs: 0,
    }),
  };
}
