import { readFileSync } from 'node:fs';
import { installDatabase } from '@shop/db';
import { ConfigError, createService, installRedis, parseTrustProxy, type ServiceInstance } from '@shop/service-kit';
import { AuthorizationFreshness, installTokenVerifier } from '@shop/token-verifier';
import type { DestinationStream } from 'pino';
import type { AuthConfig } from './config';
import { authSchema } from './database';
import { AccessTokenIssuer } from './domain/access-tokens';
import { AuthorizationPublisher } from './domain/authorization-publisher';
import { ensureBootstrapAdmin } from './domain/bootstrap-admin';
import { LoginThrottle } from './domain/login-throttle';
import { PasswordHasher } from './domain/passwords';
import { keptDevelopmentKey, loadSigningKeys, SigningKeyError } from './domain/signing-keys';
import apiKeyRoutes from './routes/api-keys';
import authRoutes from './routes/auth';
import internalRoutes from './routes/internal';
import jwksRoutes from './routes/jwks';
import userRoutes from './routes/users';
import { createAuthMetrics } from './observability/metrics';
import type { AuthServices } from './services';

export interface BuildOptions {
  /** Where logs go (tests read them); stdout by default. */
  logStream?: DestinationStream;
}

/** The auth service as a Fastify instance: nothing listens, nothing global, so tests build many. */
export async function buildApp(config: AuthConfig, options: BuildOptions = {}): Promise<ServiceInstance> {
  const configuredKey = secretFrom(config.JWT_PRIVATE_KEY, config.JWT_PRIVATE_KEY_FILE, 'JWT_PRIVATE_KEY');
  const developmentKey = configuredKey === undefined && config.JWT_DEV_KEY_FILE !== undefined ? keptKey(config.JWT_DEV_KEY_FILE) : undefined;
  const keys = await loadSigningKeys({
    privateKey: configuredKey ?? developmentKey?.pem,
    previousPublicKey: secretFrom(config.JWT_PREVIOUS_PUBLIC_KEY, config.JWT_PREVIOUS_PUBLIC_KEY_FILE, 'JWT_PREVIOUS_PUBLIC_KEY'),
  }).catch((error: unknown) => {
    if (error instanceof SigningKeyError) throw new ConfigError([`JWT_PRIVATE_KEY / JWT_PREVIOUS_PUBLIC_KEY: ${error.message}`]);
    throw error;
  });
  if ((config.ADMIN_EMAIL === undefined) !== (config.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError(['ADMIN_EMAIL and ADMIN_PASSWORD go together: set both or neither']);
  }

  const app = await createService({
    name: 'auth',
    version: '1.0.0',
    description: 'Users, login, refresh-token rotation, access tokens (JWKS), roles, scopes and API keys.',
    logLevel: config.LOG_LEVEL,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    trustProxy: parseTrustProxy(config.TRUST_PROXY),
    routeMetrics: config.METRICS_ENABLED,
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });

  // Platform: the service's own database and Redis, and verification of its own tokens.
  const db = await installDatabase(app, { url: config.DATABASE_URL, ...authSchema });
  // Ready means the database answers: while Redis is away, login throttling counts in memory per instance.
  const redis = installRedis(app, { url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, requiredForReadiness: false });
  installTokenVerifier(app, {
    keys: keys.verificationKeys,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    algorithms: [keys.algorithm],
    freshness: new AuthorizationFreshness(redis),
  });
  const authorization = new AuthorizationPublisher(db, redis, app.log);
  app.addHook('onReady', async () => authorization.start());
  app.addHook('preClose', async () => authorization.stop());

  if (keys.generated) {
    app.log.warn(
      '!!! DEV ONLY: no JWT_PRIVATE_KEY configured, so a throw-away signing key was generated. ' +
        'Tokens die with this process and other replicas will not accept them. Configure a key in production. !!!',
    );
  } else if (developmentKey !== undefined) {
    app.log.warn(
      { file: config.JWT_DEV_KEY_FILE, created: developmentKey.created },
      '!!! DEV ONLY: no JWT_PRIVATE_KEY configured, so tokens are signed with the development key kept in JWT_DEV_KEY_FILE ' +
        '(generated at its first start). Configure a key in production. !!!',
    );
  }

  const hasher = new PasswordHasher({
    memoryCost: config.ARGON2_MEMORY_KIB,
    timeCost: config.ARGON2_TIME_COST,
    parallelism: config.ARGON2_PARALLELISM,
  });
  const metrics = createAuthMetrics(app.metrics.registry);
  const services: AuthServices = {
    config,
    metrics,
    db,
    hasher,
    keys,
    accessTokens: new AccessTokenIssuer(keys, {
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    }),
    loginThrottle: new LoginThrottle(redis, {
      maxFailuresPerAccountAndAddress: config.LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS,
      maxFailuresPerAddress: config.LOGIN_MAX_FAILURES_PER_ADDRESS,
      accountSlowdownAfter: config.LOGIN_ACCOUNT_SLOWDOWN_AFTER,
      accountMaxDelayMs: config.LOGIN_ACCOUNT_MAX_DELAY_MS,
      windowSeconds: config.LOGIN_THROTTLE_WINDOW_SECONDS,
    }, metrics),
    authorization,
  };

  if (config.ADMIN_EMAIL !== undefined && config.ADMIN_PASSWORD !== undefined) {
    const outcome = await ensureBootstrapAdmin(db, hasher, { email: config.ADMIN_EMAIL, password: config.ADMIN_PASSWORD });
    app.log.info({ outcome }, 'bootstrap admin checked');
  }

  await app.register(authRoutes, { services });
  await app.register(jwksRoutes, { services });
  await app.register(apiKeyRoutes, { services });
  await app.register(userRoutes, { services });
  await app.register(internalRoutes, { services });
  return app;
}

/** A secret given inline or as a file path (the way Docker and Kubernetes secrets arrive). */
function keptKey(file: string): { pem: string; created: boolean } {
  try {
    return keptDevelopmentKey(file);
  } catch (error) {
    if (error instanceof SigningKeyError) throw new ConfigError([`JWT_DEV_KEY_FILE: ${error.message}`]);
    throw error;
  }
}

function secretFrom(inline: string | undefined, file: string | undefined, name: string): string | undefined {
  if (inline !== undefined && file !== undefined) throw new ConfigError([`${name} and ${name}_FILE are both set: choose one`]);
  if (file === undefined) return inline;
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError([`${name}_FILE: cannot read ${file}`]);
  }
}
