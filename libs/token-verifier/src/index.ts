export { installTokenVerifier, type TokenVerifierOptions } from './plugin';
export { verifyAccessToken, InvalidTokenError, KeysUnavailableError, type AccessTokenPolicy } from './verify-access-token';
export { remoteJwks } from './remote-jwks';
export type { Principal } from './principal';
export { VerifiedTokenCache } from './verified-token-cache';
export {
  AuthorizationFreshness,
  DEFAULT_FRESHNESS_CACHE_MS,
  refusalOf,
  type AuthorizationFreshnessOptions,
  type FreshnessVerdict,
  type RevocationReason,
} from './authorization-freshness';
export { authorizationKeys, parseUserAuthorization, publishGrantRevoked, publishUserAuthorization, type UserAuthorization } from './authorization-state';
