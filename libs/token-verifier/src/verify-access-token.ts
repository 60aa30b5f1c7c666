import { ACCESS_TOKEN_TYPE, Scopes, type Scope } from '@shop/contracts';
import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Principal } from './principal';

export interface AccessTokenPolicy {
  /** Where the public keys come from: a remote JWKS (other services) or a local one (auth itself). */
  keys: JWTVerifyGetKey;
  issuer: string;
  audience: string;
  /** Pinned: a token signed with any other algorithm is refused, whatever its header says. */
  algorithms: string[];
}

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
  const { sub, role, scope, jti } = payload;
  if (typeof sub !== 'string' || typeof role !== 'string' || typeof jti !== 'string') {
    throw new InvalidTokenError('the token lacks sub, role or jti');
  }
  const scopes = typeof scope === 'string' && scope !== '' ? scope.split(' ') : [];
  return {
    userId: sub,
    role,
    // Tolerant reader: scopes this service does not know grant nothing here.
    scopes: scopes.filter((value): value is Scope => KNOWN_SCOPES.has(value)),
    tokenId: jti,
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
