import type { Redis } from 'ioredis';

/**
 * The authorization state every verifier checks a token against, kept in Redis by auth (the
 * only writer) and read by every service through `AuthorizationFreshness`. Two kinds of record:
 *
 * - per user, `authz:user:<id>` = `<version>` or `<version>:disabled`: the user's authorization
 *   version, bumped by auth on every change of their rights (role, disabled, re-enabled). A token
 *   minted at an older version (its `ver` claim) no longer speaks for the user;
 * - per grant, `authz:grant:<id>` = `revoked`: a login session signed out (or caught reusing a
 *   refresh token), or an API key revoked. Every token minted from it is dead.
 *
 * Records expire after the longest lifetime a token may have (plus a margin): by then every
 * token they could refuse has expired too, so a missing record means "nothing changed lately".
 */
export const authorizationKeys = {
  user: (userId: string) => `authz:user:${userId}`,
  grant: (grantId: string) => `authz:grant:${grantId}`,
};

export interface UserAuthorization {
  version: number;
  disabled: boolean;
}

/** `<version>` or `<version>:disabled`; null for anything else (treated as unreadable). */
export function parseUserAuthorization(value: string | null): UserAuthorization | null {
  if (value === null) return null;
  const match = /^(\d+)(:disabled)?$/.exec(value);
  return match ? { version: Number(match[1]), disabled: match[2] !== undefined } : null;
}

/**
 * Writes only if no newer version is there: two changes published out of order (two auth
 * replicas, or a republish racing a live change) never roll a user back to an older state.
 */
const PUBLISH_USER = `
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)'))
  if version and version > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;

/** Auth, after committing a change of a user's rights. */
export async function publishUserAuthorization(redis: Redis, userId: string, state: UserAuthorization, ttlSeconds: number): Promise<void> {
  const value = state.disabled ? `${state.version}:disabled` : String(state.version);
  await redis.eval(PUBLISH_USER, 1, authorizationKeys.user(userId), state.version, value, ttlSeconds);
}

/** Auth, after signing a session out or revoking an API key. */
export async function publishGrantRevoked(redis: Redis, grantId: string, ttlSeconds: number): Promise<void> {
  await redis.set(authorizationKeys.grant(grantId), 'revoked', 'EX', ttlSeconds);
}
