import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';

/**
 * Auth's public keys, fetched once and cached. A token with an unknown `kid` triggers a refetch
 * (a key was rotated), but at most once per cooldown, so bad tokens cannot hammer auth.
 */
export function remoteJwks(url: string, options: { cooldownMs?: number; cacheMaxAgeMs?: number; timeoutMs?: number } = {}): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url), {
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
    timeoutDuration: options.timeoutMs ?? 2_000,
  });
}
