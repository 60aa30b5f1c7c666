import type { Scope } from '@shop/contracts';

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  /** The token's `sub`: a user id, or an API key's id when `kind` is `api-key`. */
  userId: string;
  role: string;
  scopes: Scope[];
  /** The token's `jti`, for logs and audit. */
  tokenId: string;
  /** A user acts for themselves (and through their scopes); an API key acts only through its scopes. */
  kind: 'user' | 'api-key';
  /**
   * The user whose current rights bound the token's: the user themselves, or the creator of
   * the API key. Their authorization state is what the freshness check looks up.
   */
  ownerId: string;
  /** The grant the token came from (a login session or an API key), revocable on its own; null for tokens that name none. */
  grantId: string | null;
  /** The owner's authorization version when the token was minted (0 for tokens that carry none). */
  authzVersion: number;
  /** When the token expires, in milliseconds since the epoch (WebSockets close then). */
  expiresAtMs: number;
}
