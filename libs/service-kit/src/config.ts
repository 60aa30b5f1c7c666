import './typebox-formats';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** Thrown at start when the environment does not satisfy the app's config schema. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads a typed config from environment variables, once, at start.
 * Strings are converted to the schema's types and defaults are applied; every missing or bad
 * variable is named in one error, so an operator fixes them all in one go.
 */
export function loadConfig<T extends TObject>(schema: T, env: Record<string, string | undefined> = process.env): Static<T> {
  const relevant: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const candidate = Value.Default(schema, Value.Convert(schema, relevant));
  // A variable can fail several rules at once (missing, then not a string): name it once.
  const problems = new Map<string, string>();
  for (const error of Value.Errors(schema, candidate)) {
    const variable = error.path.replace(/^\//, '') || '(root)';
    if (problems.has(variable)) continue;
    const shown = env[variable];
    problems.set(
      variable,
      shown === undefined || shown === ''
        ? `${variable} is required: ${error.message}`
        : `${variable} ${error.message} (got ${JSON.stringify(redactIfSecret(variable, shown))})`,
    );
  }
  if (problems.size > 0) throw new ConfigError([...problems.values()]);
  return candidate as Static<T>;
}

/** A bad value is shown to help the operator, but never a secret, nor a password inside a URL. */
function redactIfSecret(variable: string, value: string): string {
  if (/PASSWORD|SECRET|KEY|TOKEN/i.test(variable)) return '[redacted]';
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#]*@/i, '$1[redacted]@');
}

/** The variables every service reads. Apps compose their own schema from these. */
export const BaseServiceConfigSchema = Type.Object({
  HOST: Type.String({ default: '0.0.0.0' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' }),
  /** Every Redis key of the service starts with this, so services and tests can share one Redis. */
  REDIS_KEY_PREFIX: Type.String({ default: '' }),
  /**
   * Which proxies to trust for X-Forwarded-For: `false` (none: the default), or a list of
   * addresses/CIDRs/presets (`loopback`, `uniquelocal`, ...) naming exactly the hops in front.
   * Anything wider lets a client that reaches the service from such an address pick its own
   * address, and walk around every per-address limit.
   */
  TRUST_PROXY: Type.String({ default: 'false' }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, default: 10_000 }),
});
export type BaseServiceConfig = Static<typeof BaseServiceConfigSchema>;

/** `TRUST_PROXY` as Fastify's `trustProxy` option. */
export function parseTrustProxy(value: string): boolean | string {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}
