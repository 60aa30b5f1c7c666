import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { AppError } from '@shop/service-kit';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import type { GatewayConfig } from '../config';
import { createFallbackStoreClass } from './fallback-rate-limit-store';

export interface RateLimiters {
  /** Per principal when signed in, per address when anonymous. */
  default: onRequestAsyncHookHandler;
  /** Login and registration: per address, stricter. */
  login: onRequestAsyncHookHandler;
}

const principalOrAddress = (request: FastifyRequest) =>
  request.principal === null ? `address:${request.ip}` : `principal:${request.principal.userId}`;

/**
 * Rate limits counted in Redis (@fastify/rate-limit with a store that falls back to memory while
 * Redis is down: see `createFallbackStoreClass`). Responses carry `RateLimit-Limit`,
 * `RateLimit-Remaining` and `RateLimit-Reset`; over the limit, a 429 problem with `Retry-After`.
 * The limiters are hooks placed on each route explicitly, after the edge has identified the
 * caller (so it can count per principal) and before anything costs a service a thing.
 */
export async function installRateLimits(app: FastifyInstance, redis: Redis, config: GatewayConfig): Promise<RateLimiters> {
  // One Redis round trip per request is the limiter's whole cost: with auto-pipelining, the
  // commands of concurrent requests share one write and one read. (ioredis reads this option
  // at each call; the kit's installRedis has no way to ask for it yet.)
  redis.options.enableAutoPipelining = true;
  await app.register(rateLimit, {
    global: false,
    enableDraftSpec: true,
    store: createFallbackStoreClass(redis, app.log) as unknown as FastifyRateLimitStoreCtor,
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `Rate limit exceeded; retry in ${context.after}`),
  });
  const limiter = (options: Parameters<FastifyInstance['rateLimit']>[0]) => app.rateLimit(options) as unknown as onRequestAsyncHookHandler;
  return {
    default: limiter({
      groupId: 'default',
      keyGenerator: principalOrAddress,
      max: (request) => (request.principal === null ? config.RATE_LIMIT_ANONYMOUS_MAX : config.RATE_LIMIT_MAX),
      timeWindow: config.RATE_LIMIT_WINDOW_MS,
    }),
    login: limiter({
      groupId: 'login',
      keyGenerator: (request) => `address:${request.ip}`,
      max: config.RATE_LIMIT_LOGIN_MAX,
      timeWindow: config.RATE_LIMIT_LOGIN_WINDOW_MS,
    }),
  };
}
