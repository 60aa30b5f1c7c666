import { randomUUID } from 'node:crypto';
import { ACCESS_TOKEN_TYPE, type Scope } from '@shop/contracts';
import { SignJWT } from 'jose';
import type { SigningKeys } from './signing-keys';

export interface IssuedAccessToken {
  accessToken: string;
  expiresIn: number;
}

/** Mints access tokens in the RFC 9068 profile: `typ: at+jwt`, `kid`, and the contract's claims. */
export class AccessTokenIssuer {
  constructor(
    private readonly keys: SigningKeys,
    private readonly settings: { issuer: string; audience: string; ttlSeconds: number },
  ) {}

  async issue(subject: { id: string; role: string; scopes: readonly Scope[] }, ttlSeconds = this.settings.ttlSeconds): Promise<IssuedAccessToken> {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({ role: subject.role, scope: subject.scopes.join(' ') })
      .setProtectedHeader({ alg: this.keys.algorithm, typ: ACCESS_TOKEN_TYPE, kid: this.keys.kid })
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setSubject(subject.id)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(randomUUID())
      .sign(this.keys.privateKey);
    return { accessToken, expiresIn: ttlSeconds };
  }
}
