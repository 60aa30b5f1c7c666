import type { Scope } from '@shop/contracts';

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  /** The token's `sub`: a user id, or an API key's id when `role` is `service`. */
  userId: string;
  role: string;
  scopes: Scope[];
  /** The token's `jti`, for logs and audit. */
  tokenId: string;
}
