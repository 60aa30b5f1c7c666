import { randomUUID } from 'node:crypto';
import { ACCESS_TOKEN_TYPE, ScopesOfRole, type Role, type Scope } from '@shop/contracts';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTVerifyGetKey } from 'jose';

export const TEST_ISSUER = 'urn:shop:auth';
export const TEST_AUDIENCE = 'urn:shop:api';

export interface TestTokenIssuer {
  issuer: string;
  audience: string;
  /** The JWKS document, as auth would serve it at /.well-known/jwks.json. */
  jwks: { keys: JWK[] };
  /** Verification keys for `installTokenVerifier` (no HTTP needed). */
  verificationKeys: JWTVerifyGetKey;
  /**
   * A valid access token for a user of this role (or explicit scopes). `grantId` (the `sid`:
   * session or API key), `authzVersion` (`ver`) and, for `service`, `ownerId` (the key's creator)
   * tie it to the authorization state, as auth's tokens are.
   */
  tokenFor(subject: {
    userId?: string;
    role?: Role | 'service';
    scopes?: Scope[];
    ttlSeconds?: number;
    grantId?: string;
    authzVersion?: number;
    ownerId?: string;
  }): Promise<string>;
}

/**
 * Stands in for auth in other services' tests: a real Ed25519 key and real tokens in auth's
 * exact format, so services are tested against the same verification as in production.
 */
export async function createTestTokenIssuer(): Promise<TestTokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'EdDSA', use: 'sig' }] };
  return {
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    jwks,
    verificationKeys: createLocalJWKSet(jwks),
    async tokenFor({ userId = randomUUID(), role = 'customer', scopes, ttlSeconds = 900, grantId = randomUUID(), authzVersion = 0, ownerId }) {
      const granted = scopes ?? (role === 'service' ? [] : ScopesOfRole[role]);
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ role, scope: granted.join(' '), sid: grantId, ver: authzVersion, ...(ownerId === undefined ? {} : { owner: ownerId }) })
        .setProtectedHeader({ alg: 'EdDSA', typ: ACCESS_TOKEN_TYPE, kid })
        .setIssuer(TEST_ISSUER)
        .setAudience(TEST_AUDIENCE)
        .setSubject(userId)
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .setJti(randomUUID())
        .sign(privateKey);
    },
  };
}
