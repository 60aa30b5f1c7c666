import { BaseServiceConfigSchema, metricsConfigSchema } from '@shop/service-kit';
import { Type, type Static } from '@sinclair/typebox';

const UrlSchema = (fallback: string) => Type.String({ pattern: '^https?://', default: fallback });
const Milliseconds = (fallback: number, minimum = 1) => Type.Integer({ minimum, default: fallback });

/** The gateway has no database: the kit's variables without DATABASE_URL, plus its own. */
export const GatewayConfigSchema = Type.Composite([
  Type.Omit(BaseServiceConfigSchema, ['DATABASE_URL']),
  metricsConfigSchema(9100),
  Type.Object({
    PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 8080 }),

    AUTH_URL: UrlSchema('http://127.0.0.1:3001'),
    CATALOG_URL: UrlSchema('http://127.0.0.1:3002'),
    ORDERS_URL: UrlSchema('http://127.0.0.1:3003'),
    RECOMMENDATIONS_URL: UrlSchema('http://127.0.0.1:3004'),
    /** Default: `${AUTH_URL}/.well-known/jwks.json`. */
    AUTH_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
    JWT_ISSUER: Type.String({ minLength: 1, default: 'urn:shop:auth' }),
    JWT_AUDIENCE: Type.String({ minLength: 1, default: 'urn:shop:api' }),
    /** Comma-separated; pinned, so a token signed with anything else is refused. */
    JWT_ALGORITHMS: Type.String({ pattern: '^(EdDSA|ES256|RS256)(,(EdDSA|ES256|RS256))*$', default: 'EdDSA' }),
    /** Verified tokens are remembered until they expire; this bounds the memory it takes. */
    TOKEN_CACHE_MAX_ENTRIES: Type.Integer({ minimum: 0, default: 10_000 }),
    /** How long an exchanged API-key token is reused. Capped so that a revoked key dies within 5 s. */
    API_KEY_CACHE_MS: Type.Integer({ minimum: 0, maximum: 4_000, default: 3_000 }),

    /** Requests per window per signed-in principal (user or API key). */
    RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 600 }),
    /** Requests per window per client address, for anonymous requests. */
    RATE_LIMIT_ANONYMOUS_MAX: Type.Integer({ minimum: 1, default: 300 }),
    RATE_LIMIT_WINDOW_MS: Milliseconds(60_000),
    /** Login and registration, per client address: the stricter limit. */
    RATE_LIMIT_LOGIN_MAX: Type.Integer({ minimum: 1, default: 10 }),
    RATE_LIMIT_LOGIN_WINDOW_MS: Milliseconds(60_000),
    /**
     * How often a replica adds its counts in Redis and learns the others' (0: a Redis round trip
     * on every request). Replicas may admit about (replicas - 1) x rate x 2 x this over a limit.
     */
    RATE_LIMIT_SYNC_MS: Milliseconds(50, 0),

    /** Time allowed for an upstream's response headers, and between two chunks of its body. */
    UPSTREAM_TIMEOUT_MS: Milliseconds(5_000),
    /** For routes that legitimately wait (POST /v1/orders with `Prefer: wait=10`). */
    UPSTREAM_LONG_TIMEOUT_MS: Milliseconds(15_000),
    UPSTREAM_CONNECT_TIMEOUT_MS: Milliseconds(2_000),
    /** Keep-alive connections per upstream. */
    UPSTREAM_CONNECTIONS: Type.Integer({ minimum: 1, default: 128 }),
    UPSTREAM_KEEP_ALIVE_MS: Milliseconds(4_000),

    /** Extra attempts for a request that may be repeated (idempotent method or Idempotency-Key). */
    RETRY_MAX: Type.Integer({ minimum: 0, maximum: 3, default: 1 }),
    /** Retries wait a random time up to this, growing with each attempt. */
    RETRY_BASE_DELAY_MS: Milliseconds(50, 0),
    /** Retries may add at most this fraction of the traffic (plus RETRY_BUDGET_BURST). */
    RETRY_BUDGET_RATIO: Type.Number({ minimum: 0, maximum: 1, default: 0.1 }),
    RETRY_BUDGET_BURST: Type.Integer({ minimum: 0, default: 10 }),

    /** Consecutive failures (connection errors, timeouts, 502/503/504) that open an upstream's breaker. */
    BREAKER_FAILURE_THRESHOLD: Type.Integer({ minimum: 1, default: 5 }),
    /**
     * How long a breaker that just opened fails fast before one probe request may go through. Each
     * failed probe doubles the wait, up to BREAKER_MAX_RESET_MS: a dead service gets one request
     * per interval, and a service that is back is found within the current interval.
     */
    BREAKER_RESET_MS: Milliseconds(250),
    BREAKER_MAX_RESET_MS: Milliseconds(1_000),

    /** Open WebSockets (GET /v1/orders/events and GraphQL's) per user, and per client address, across replicas; one more is refused. */
    WS_MAX_PER_USER: Type.Integer({ minimum: 1, default: 5 }),
    WS_MAX_PER_ADDRESS: Type.Integer({ minimum: 1, default: 20 }),

    /** Comma-separated origins allowed to call the API from a browser (with credentials). Empty: none. */
    CORS_ORIGINS: Type.String({ default: '' }),
    CORS_MAX_AGE_SECONDS: Type.Integer({ minimum: 0, default: 600 }),

    /** GraphiQL at /graphiql (loads its scripts from a CDN): for development. */
    GRAPHQL_GRAPHIQL: Type.Boolean({ default: false }),
    /** `__schema` / `__type` queries; the schema is public at /graphql/schema.graphql either way. */
    GRAPHQL_INTROSPECTION: Type.Boolean({ default: true }),
    /** Nested fields a query may have. */
    GRAPHQL_MAX_DEPTH: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
    /** A query's cost budget: every field 1, a service call 10 more, a list times its `first`. */
    GRAPHQL_MAX_COST: Type.Integer({ minimum: 1, default: 5_000 }),
    GRAPHQL_MAX_ALIASES: Type.Integer({ minimum: 0, default: 30 }),
    /** A query counts against the rate limit once per started this many points of cost. */
    GRAPHQL_COST_PER_REQUEST: Type.Integer({ minimum: 1, default: 500 }),
  }),
]);
export type GatewayConfig = Static<typeof GatewayConfigSchema>;

export function jwksUrlOf(config: GatewayConfig): string {
  return config.AUTH_JWKS_URL ?? `${config.AUTH_URL.replace(/\/$/, '')}/.well-known/jwks.json`;
}

/** `CORS_ORIGINS` as a list; `*` is refused because the API is called with credentials. */
export function corsOriginsOf(config: GatewayConfig): string[] {
  return config.CORS_ORIGINS.split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
}
