import { hostname } from 'node:os';
import { BaseServiceConfigSchema, metricsConfigSchema } from '@shop/service-kit';
import { Type, type Static } from '@sinclair/typebox';
import type { ModelSettings } from './domain/model-settings';

export const RecommendationsConfigSchema = Type.Composite([
  BaseServiceConfigSchema,
  metricsConfigSchema(9104),
  Type.Object({
    PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 3004 }),
    /** Where auth publishes the public keys that verify access tokens. */
    AUTH_JWKS_URL: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:3001/.well-known/jwks.json' }),
    JWT_ISSUER: Type.String({ minLength: 1, default: 'urn:shop:auth' }),
    JWT_AUDIENCE: Type.String({ minLength: 1, default: 'urn:shop:api' }),
    /** Comma-separated; a token signed with any other algorithm is refused. */
    JWT_ALGORITHMS: Type.String({ pattern: '^(EdDSA|ES256|RS256)(,(EdDSA|ES256|RS256))*$', default: 'EdDSA' }),
    DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
    /** This instance within the `recommendations` consumer group; stable across restarts so it re-reads its own pending events. */
    EVENTS_CONSUMER_NAME: Type.String({ minLength: 1, default: hostname() }),
    /** Failed deliveries of one event after which it goes to the service's `dead_letters` table. */
    EVENTS_MAX_DELIVERIES: Type.Integer({ minimum: 1, default: 5 }),
    /** An event left unacknowledged this long (its replica crashed, or its handler failed) is claimed and tried again. */
    EVENTS_CLAIM_IDLE_MS: Type.Integer({ minimum: 100, default: 30_000 }),

    /**
     * The privacy threshold: a pair of products is used only once this many distinct customers
     * bought both in one order. Below it, "bought together" could point at one person's basket.
     */
    MIN_PAIR_CUSTOMERS: Type.Integer({ minimum: 2, default: 3 }),
    /** λ in the shrinkage c / (c + λ) that damps similarities resting on few customers. 0 turns it off. */
    SIMILARITY_SHRINKAGE: Type.Number({ minimum: 0, default: 5 }),
    /** Partners of a product, by number of shared customers, re-ranked by similarity at read time. */
    NEIGHBOUR_CANDIDATES: Type.Integer({ minimum: 10, maximum: 1_000, default: 100 }),
    /** The most-bought products of a customer that personal recommendations start from. */
    PERSONAL_HISTORY_LIMIT: Type.Integer({ minimum: 1, maximum: 1_000, default: 50 }),
    /** An order's weight in popularity halves with every half-life that passes. Changing it needs a rebuild. */
    POPULARITY_HALF_LIFE_DAYS: Type.Number({ exclusiveMinimum: 0, default: 14 }),
  }),
]);
export type RecommendationsConfig = Static<typeof RecommendationsConfigSchema>;

export function modelSettingsOf(config: RecommendationsConfig): ModelSettings {
  return {
    minPairCustomers: config.MIN_PAIR_CUSTOMERS,
    shrinkage: config.SIMILARITY_SHRINKAGE,
    neighbourCandidates: config.NEIGHBOUR_CANDIDATES,
    personalHistoryLimit: config.PERSONAL_HISTORY_LIMIT,
    halfLifeSeconds: config.POPULARITY_HALF_LIFE_DAYS * 86_400,
  };
}
