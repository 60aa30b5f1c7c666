import { ACCESS_TOKEN_TYPE, API_KEY_ROLE, MAX_ACCESS_TOKEN_LIFETIME_SECONDS, Scopes, type Scope } from '@shop/contracts';
import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Principal } from './principal';

export interface AccessTokenPolicy {
  /** Where the public keys come from: a remote JWKS (other services) or a local one (auth itself). */
  keys: JWTVerifyGetKey;
  issuer: string;
  audience: string;
  /** Pinned: a token signed with any other algorithm is refused, whatever its header says. */
  algorithms: string[];
  /**
   * The longest lifetime (`exp - iat`) accepted, whatever the signature says (default: the
   * contract's 15 minutes). The freshness check relies on it: authorization changes are kept in
   * Redis only this long, because no token older than that can still be alive.
   */
  maxLifetimeSeconds?: number;
}

/** Clocks differ a little between auth and its verifiers; more than this is a token from the future. */
const CLOCK_SKEW_SECONDS = 60;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The token could not be verified because the keys could not be fetched: not the caller's fault. */
export class KeysUnavailableError extends Error {}
/** The token itself is not acceptable. `reason` goes to the log and to `WWW-Authenticate`. */
export class InvalidTokenError extends Error {}

const KNOWN_SCOPES = new Set<string>(Scopes);

export async function verifyAccessToken(token: string, policy: AccessTokenPolicy): Promise<Principal> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, policy.keys, {
      issuer: policy.issuer,
      audience: policy.audience,
      algorithms: policy.algorithms,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
    }));
  } catch (error) {
    if (isKeySourceFailure(error)) {
      throw new KeysUnavailableError('could not fetch the verification keys', { cause: error });
    }
    throw new InvalidTokenError(describe(error), { cause: error });
  }
  const { sub, role, scope, jti, sid, ver, owner, iat, exp } = payload;
  if (typeof sub !== 'string' || typeof role !== 'string' || typeof jti !== 'string') {
    throw new InvalidTokenError('the token lacks sub, role or jti');
  }
  // Both are required claims, checked as numbers by jwtVerify.
  const issuedAt = iat!;
  const expiresAt = exp!;
  const maxLifetime = policy.maxLifetimeSeconds ?? MAX_ACCESS_TOKEN_LIFETIME_SECONDS;
  if (expiresAt - issuedAt > maxLifetime) throw new InvalidTokenError(`the token lives longer than ${maxLifetime} seconds`);
  if (issuedAt > Math.floor(Date.now() / 1000) + CLOCK_SKEW_SECONDS) throw new InvalidTokenError('the token was issued in the future');
  if ((sid !== undefined && typeof sid !== 'string') || (ver !== undefined && !(Number.isSafeInteger(ver) && (ver as number) >= 0))) {
    throw new InvalidTokenError("the token's sid or ver claim is not acceptable");
  }
  const kind = role === API_KEY_ROLE ? 'api-key' : 'user';
  if (owner !== undefined && (kind !== 'api-key' || typeof owner !== 'string' || !UUID.test(owner))) {
    throw new InvalidTokenError("the token's owner claim is not acceptable");
  }
  const scopes = typeof scope === 'string' && scope !== '' ? scope.split(' ') : [];
  return {
    userId: sub,
    role,
    // Tolerant reader: scopes this service does not know grant nothing here.
    scopes: scopes.filter((value): value is Scope => KNOWN_SCOPES.has(value)),
    tokenId: jti,
    kind,
    ownerId: typeof owner === 'string' ? owner : sub,
    grantId: typeof sid === 'string' ? sid : null,
    authzVersion: typeof ver === 'number' ? ver : 0,
    expiresAtMs: expiresAt * 1000,
  };
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not acceptable`;
  if (error instanceof errors.JWKSNoMatchingKey) return 'the token was signed by an unknown key';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token was signed with an algorithm that is not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  return 'the token is malformed';
}

/** Network errors, timeouts, a JWKS that is not JSON or not a 200: the key source failed, not the token. */
function isKeySourceFailure(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.code === 'ERR_JOSE_GENERIC';
}
