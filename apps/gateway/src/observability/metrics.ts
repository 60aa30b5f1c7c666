import { scrapeTimeGauge } from '@shop/service-kit';
import { Counter, type Registry } from 'prom-client';
import type { ApiKeyExchangeResult } from '../identity/api-key-exchange';
import type { BreakerState } from '../upstream/circuit-breaker';

const BREAKER_STATES: BreakerState[] = ['closed', 'open', 'half-open'];

/** Which limit refused a request: the general one per principal or per anonymous address, or login's. */
export type RateLimitClass = 'principal' | 'anonymous' | 'login';

/**
 * The gateway's own series, beside the kit's per-route and process series: rate-limit
 * rejections by class, API-key exchanges by result, and each upstream's breaker state (read at
 * scrape time: `gateway_circuit_breaker_state{upstream, state}` is 1 for the current state).
 */
export function createGatewayMetrics(registry: Registry) {
  let breakers: { name: string; breakerState: BreakerState }[] = [];
  const rejections = new Counter({
    name: 'gateway_rate_limit_rejections_total',
    help: 'Requests refused with 429 by a rate limit, by class.',
    labelNames: ['class'] as const,
    registers: [registry],
  });
  const exchanges = new Counter({
    name: 'gateway_api_key_exchanges_total',
    help: 'API keys presented, by result: cached, exchanged at auth, refused by auth, failed (auth unreachable).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  scrapeTimeGauge(
    registry,
    { name: 'gateway_circuit_breaker_state', help: "Each upstream's breaker: 1 for its current state, 0 for the others.", labelNames: ['upstream', 'state'] as const },
    async (gauge) => {
      for (const { name, breakerState } of breakers) {
        for (const state of BREAKER_STATES) gauge.set({ upstream: name, state }, state === breakerState ? 1 : 0);
      }
    },
  );
  return {
    rateLimited: (rateLimitClass: RateLimitClass) => rejections.inc({ class: rateLimitClass }),
    apiKeyExchanged: (result: ApiKeyExchangeResult) => exchanges.inc({ result }),
    watchBreakers: (upstreams: { name: string; breakerState: BreakerState }[]) => {
      breakers = upstreams;
    },
  };
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
