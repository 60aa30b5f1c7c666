import { hostname } from 'node:os';
import { BaseServiceConfigSchema, metricsConfigSchema } from '@shop/service-kit';
import { Type, type Static } from '@sinclair/typebox';

export const OrdersConfigSchema = Type.Composite([
  BaseServiceConfigSchema,
  metricsConfigSchema(9103),
  Type.Object({
    PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 3003 }),
    AUTH_JWKS_URL: Type.String({ default: 'http://127.0.0.1:3001/.well-known/jwks.json' }),
    JWT_ISSUER: Type.String({ minLength: 1, default: 'urn:shop:auth' }),
    JWT_AUDIENCE: Type.String({ minLength: 1, default: 'urn:shop:api' }),
    JWT_ALGORITHMS: Type.String({ default: 'EdDSA', description: 'Comma-separated; pinned' }),
    /** The store's one currency; catalog prices are in it too. */
    STORE_CURRENCY: Type.String({ pattern: '^[A-Z]{3}$', default: 'USD' }),
    IDEMPOTENCY_TTL_SECONDS: Type.Integer({ minimum: 60, default: 24 * 3600 }),
    /**
     * The lease of a claimed key: renewed every third of it while its request runs, so a key whose
     * request died with its process is free again within this long.
     */
    IDEMPOTENCY_LEASE_MS: Type.Integer({ minimum: 300, maximum: 60_000, default: 2_000 }),
    /** This instance within the `orders` consumer group; stable across restarts so it re-reads its own pending events. */
    EVENTS_CONSUMER_NAME: Type.String({ minLength: 1, default: hostname() }),
    EVENTS_MAX_DELIVERIES: Type.Integer({ minimum: 1, default: 5 }),
    EVENTS_CLAIM_IDLE_MS: Type.Integer({ minimum: 100, default: 30_000 }),
    WS_HEARTBEAT_MS: Type.Integer({ minimum: 100, default: 30_000 }),
    /** How often open WebSockets are checked against their owner's current rights (with the 1 s cache: changes close them within 2 s). */
    WS_FRESHNESS_SWEEP_MS: Type.Integer({ minimum: 100, maximum: 3_000, default: 1_000 }),
  }),
]);
export type OrdersConfig = Static<typeof OrdersConfigSchema>;
