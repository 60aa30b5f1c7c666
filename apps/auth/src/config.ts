import { BaseServiceConfigSchema, metricsConfigSchema } from '@shop/service-kit';
import { Type, type Static } from '@sinclair/typebox';

/** OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane. Lower values are refused at start. */
const ARGON2_MIN = { memoryKib: 19_456, timeCost: 2, parallelism: 1 };

export const AuthConfigSchema = Type.Composite([
  BaseServiceConfigSchema,
  metricsConfigSchema(9101),
  Type.Object({
    PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 3001 }),
    JWT_ISSUER: Type.String({ minLength: 1, default: 'urn:shop:auth' }),
    JWT_AUDIENCE: Type.String({ minLength: 1, default: 'urn:shop:api' }),
    /** The signing key, PEM (PKCS#8) or a private JWK, Ed25519 or P-256. Unset: a dev-only key is generated. */
    JWT_PRIVATE_KEY: Type.Optional(Type.String()),
    JWT_PRIVATE_KEY_FILE: Type.Optional(Type.String()),
    /**
     * DEV ONLY, used when no key is configured: the generated key is kept in this file and reused at
     * the next start (compose keeps it in a volume), so tokens survive a restart of auth.
     */
    JWT_DEV_KEY_FILE: Type.Optional(Type.String()),
    /** The previous public key (PEM or JWK), still published so tokens it signed verify during a rotation. */
    JWT_PREVIOUS_PUBLIC_KEY: Type.Optional(Type.String()),
    JWT_PREVIOUS_PUBLIC_KEY_FILE: Type.Optional(Type.String()),
    ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 30, maximum: 900, default: 900 }),
    REFRESH_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 300, default: 30 * 24 * 3600 }),
    API_KEY_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 5, maximum: 900, default: 60 }),
    ARGON2_MEMORY_KIB: Type.Integer({ minimum: ARGON2_MIN.memoryKib, default: ARGON2_MIN.memoryKib }),
    ARGON2_TIME_COST: Type.Integer({ minimum: ARGON2_MIN.timeCost, default: ARGON2_MIN.timeCost }),
    ARGON2_PARALLELISM: Type.Integer({ minimum: ARGON2_MIN.parallelism, default: ARGON2_MIN.parallelism }),
    /** Failed logins of one account from one address before that pair gets 429. */
    LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS: Type.Integer({ minimum: 1, default: 5 }),
    /** Failed logins from one address (any accounts) before the address gets 429. */
    LOGIN_MAX_FAILURES_PER_ADDRESS: Type.Integer({ minimum: 1, default: 20 }),
    /** Failed logins of one account (from anywhere) before its logins are slowed down; never locked. */
    LOGIN_ACCOUNT_SLOWDOWN_AFTER: Type.Integer({ minimum: 1, default: 10 }),
    LOGIN_ACCOUNT_MAX_DELAY_MS: Type.Integer({ minimum: 0, maximum: 10_000, default: 2_000 }),
    LOGIN_THROTTLE_WINDOW_SECONDS: Type.Integer({ minimum: 1, default: 900 }),
    /** The first admin, created (or promoted) at start. Both or neither. */
    ADMIN_EMAIL: Type.Optional(Type.String({ format: 'email' })),
    ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 12, maxLength: 128 })),
  }),
]);
export type AuthConfig = Static<typeof AuthConfigSchema>;
