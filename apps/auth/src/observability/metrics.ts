import { Counter, type Registry } from 'prom-client';

/** Auth's own series, beside the kit's per-route and process series. No label ever holds an email or an id. */
export function createAuthMetrics(registry: Registry) {
  return {
    loginFailures: new Counter({
      name: 'auth_login_failures_total',
      help: 'Logins refused for a wrong email or password.',
      registers: [registry],
    }),
    loginThrottles: new Counter({
      name: 'auth_login_throttles_total',
      help: 'Logins refused with 429 because the (account, address) pair or the address used up its failures.',
      labelNames: ['scope'] as const,
      registers: [registry],
    }),
    apiKeyExchanges: new Counter({
      name: 'auth_api_key_exchanges_total',
      help: 'API keys exchanged for an access token (issued) or refused (unknown or revoked).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}
export type AuthMetrics = ReturnType<typeof createAuthMetrics>;
