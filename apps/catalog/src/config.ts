import { hostname } from 'node:os';
import { BaseServiceConfigSchema, metricsConfigSchema } from '@shop/service-kit';
import { Type, type Static } from '@sinclair/typebox';

export const CatalogConfigSchema = Type.Composite([
  BaseServiceConfigSchema,
  metricsConfigSchema(9102),
  Type.Object({
    PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 3002 }),
    /** Where auth publishes the public keys that verify access tokens. */
    AUTH_JWKS_URL: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:3001/.well-known/jwks.json' }),
    JWT_ISSUER: Type.String({ minLength: 1, default: 'urn:shop:auth' }),
    JWT_AUDIENCE: Type.String({ minLength: 1, default: 'urn:shop:api' }),
    /** Comma-separated; a token signed with any other algorithm is refused. */
    JWT_ALGORITHMS: Type.String({ pattern: '^(EdDSA|ES256|RS256)(,(EdDSA|ES256|RS256))*$', default: 'EdDSA' }),
    /** The store's one currency (ISO 4217). Products in any other are refused. */
    STORE_CURRENCY: Type.String({ pattern: '^[A-Z]{3}$', default: 'USD' }),
    /** Turns the Redis read-through cache of products and list pages off (benchmarks, debugging). */
    CACHE_ENABLED: Type.Boolean({ default: true }),
    /**
     * How long a cached product or list page may live. Every change invalidates at once; these only
     * bound the damage if an invalidation is ever lost (say, a network split between replicas and Redis).
     */
    PRODUCT_CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, default: 300 }),
    LIST_CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, default: 60 }),
    DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
    /** This instance within the `catalog` consumer group; stable across restarts so it re-reads its own pending events. */
    EVENTS_CONSUMER_NAME: Type.String({ minLength: 1, default: hostname() }),
    /** Failed deliveries of one event after which it goes to the dead letters (the `dead_letters` table). */
    EVENTS_MAX_DELIVERIES: Type.Integer({ minimum: 1, default: 5 }),
    /** An event left unacknowledged this long (its replica crashed, or its handler failed) is claimed and tried again. */
    EVENTS_CLAIM_IDLE_MS: Type.Integer({ minimum: 100, default: 30_000 }),
  }),
]);
export type CatalogConfig = Static<typeof CatalogConfigSchema>;

export function algorithmsOf(config: CatalogConfig): string[] {
  return config.JWT_ALGORITHMS.split(',');
}
