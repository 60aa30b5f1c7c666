import { decodeJwt } from 'jose';
import type { Principal } from './principal';
import { verifyAccessToken, type AccessTokenPolicy } from './verify-access-token';

interface Entry {
  principal: Principal;
  expiresAtMs: number;
}

/**
 * Verifies access tokens once and remembers the verdict until the token expires, so that a
 * client sending the same token again costs a map lookup instead of a signature check. Only
 * successes are kept (a refused token may be retried once its keys are fetched); the map is
 * bounded, oldest entry out first.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly policy: AccessTokenPolicy,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The token's principal, or InvalidTokenError / KeysUnavailableError as `verifyAccessToken` throws them. */
  async verify(token: string): Promise<Principal> {
    const hit = this.entries.get(token);
    if (hit !== undefined) {
      if (this.now() < hit.expiresAtMs) return hit.principal;
      this.entries.delete(token);
    }
    const principal = await verifyAccessToken(token, this.policy);
    if (this.maxEntries > 0) {
      // `exp` is a required claim, checked by the verification above.
      const expiresAtMs = (decodeJwt(token).exp ?? 0) * 1000;
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(token, { principal, expiresAtMs });
    }
    return principal;
  }

  get size(): number {
    return this.entries.size;
  }
}
