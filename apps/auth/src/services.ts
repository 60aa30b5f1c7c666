import type { DataSource } from 'typeorm';
import type { AuthConfig } from './config';
import type { AccessTokenIssuer } from './domain/access-tokens';
import type { AuthorizationPublisher } from './domain/authorization-publisher';
import type { LoginThrottle } from './domain/login-throttle';
import type { PasswordHasher } from './domain/passwords';
import type { SigningKeys } from './domain/signing-keys';
import type { AuthMetrics } from './observability/metrics';

/** What auth's routes work with, built once in `buildApp` and handed to each route plugin. */
export interface AuthServices {
  config: AuthConfig;
  db: DataSource;
  hasher: PasswordHasher;
  keys: SigningKeys;
  accessTokens: AccessTokenIssuer;
  loginThrottle: LoginThrottle;
  metrics: AuthMetrics;
  authorization: AuthorizationPublisher;
}
