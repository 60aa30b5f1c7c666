export { installTokenVerifier, type TokenVerifierOptions } from './plugin';
export { verifyAccessToken, InvalidTokenError, KeysUnavailableError, type AccessTokenPolicy } from './verify-access-token';
export { remoteJwks } from './remote-jwks';
export type { Principal } from './principal';
export { VerifiedTokenCache } from './verified-token-cache';
