import { randomUUID } from 'node:crypto';
import { ACCESS_TOKEN_TYPE, type Scope } from '@shop/contracts';
import { SignJWT } from 'jose';
import type { SigningKeys } from './signing-keys';

export interface IssuedAccessToken {
  accessToken: string;
  expiresIn: number;
}

/** Who a token speaks for, and the authorization state it is minted from (see the freshness check). */
export interface TokenSubject {
  id: string;
  role: string;
  scopes: readonly Scope[];
  /** The login session (refresh-token family) or the API key the token comes from. */
  grantId: string;
  /** The owner's authorization version now. */
  authzVersion: number;
  /** For an API key: its creator, whose current rights bound the key's. */
  ownerId?: string;
}

/** Mints access tokens in the RFC 9068 profile: `typ: at+jwt`, `kid`, and the contract's claims. */
export class AccessTokenIssuer {
  constructor(
    private readonly keys: SigningKeys,
    private readonly settings: { issuer: string; audience: string; ttlSeconds: number },
  ) {}

  async issue(subject: TokenSubject, ttlSeconds = this.settings.ttlSeconds): Promise<IssuedAccessToken> {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      role: subject.role,
      scope: subject.scopes.join(' '),
      sid: subject.grantId,
      ver: subject.authzVersion,
      ...(subject.ownerId === undefined ? {} : { owner: subject.ownerId }),
    };
    const accessToken = await new SignJWT(claims)
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
