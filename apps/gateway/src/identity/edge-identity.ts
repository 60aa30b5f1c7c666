import type { PublicOperation } from '@shop/contracts';
import { AppError } from '@shop/service-kit';
import { InvalidTokenError, KeysUnavailableError, refusalOf, type AuthorizationFreshness, type Principal, type VerifiedTokenCache } from '@shop/token-verifier';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { UpstreamError } from '../upstream/upstream-error';
import type { ApiKeyExchanger } from './api-key-exchange';

const BEARER = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/i;
const REALM = 'shop';

declare module 'fastify' {
  interface FastifyRequest {
    /** What the edge learnt from the request's credentials; see `EdgeIdentity`. */
    edgeCredentials: EdgeCredentials | null;
  }
}

interface EdgeCredentials {
  /** The access token to forward (the client's own, or the one exchanged for its API key). */
  accessToken?: string;
  /** An API key whose exchange waits until the request has passed the rate limit. */
  pendingApiKey?: string;
  /** Why the credentials were refused; thrown after the rate limit has counted the request. */
  refusal?: AppError;
}

function challenge(error?: string, description?: string): string {
  return error ? `Bearer realm="${REALM}", error="${error}", error_description="${description ?? error}"` : `Bearer realm="${REALM}"`;
}

function refused(reason: string, error = 'invalid_token'): AppError {
  return new AppError('AUTH_TOKEN_INVALID', reason, { headers: { 'www-authenticate': challenge(error, reason) } });
}

/**
 * Identity at the edge, in two hooks around the rate limit:
 * `identify` reads the credentials and does only local work (a token is verified against the
 * cached JWKS, an API key is looked up in the exchange cache), so the rate limit can count the
 * request against its principal; `authenticate` then refuses bad credentials, exchanges an API
 * key it did not know yet, and refuses anonymous requests to operations that need a caller (the operation table's `access`). A flood of bad
 * or random credentials is thus rate limited per address before it costs auth anything.
 *
 * Every token is also checked against its owner's current rights (`AuthorizationFreshness`, the
 * same rule as in every service): a revoked one is refused like a bad one, and a cached API-key
 * token whose creator's rights changed is exchanged again (auth then grants what is left).
 *
 * The services verify the forwarded token again; this only keeps bad requests away from them.
 */
export class EdgeIdentity {
  constructor(
    private readonly tokens: VerifiedTokenCache,
    private readonly freshness: AuthorizationFreshness | null,
    private readonly apiKeys: ApiKeyExchanger,
    private readonly exchangeHeaders: (request: FastifyRequest) => Record<string, string>,
  ) {}

  identify(operation: PublicOperation): onRequestAsyncHookHandler {
    return async (request: FastifyRequest) => {
      request.edgeCredentials = await this.read(request, operation);
    };
  }

  authenticate(operation: PublicOperation): onRequestAsyncHookHandler {
    return async (request: FastifyRequest, _reply: FastifyReply) => this.check(request, operation);
  }

  /**
   * Both steps at once, outside a route's hooks: for credentials that arrive after the request
   * (a GraphQL WebSocket's `connection_init` payload, copied onto the upgrade request's headers).
   */
  async admit(request: FastifyRequest, operation: PublicOperation): Promise<void> {
    request.edgeCredentials = await this.read(request, operation);
    await this.check(request, operation);
  }

  private async check(request: FastifyRequest, operation: PublicOperation): Promise<void> {
    const credentials = request.edgeCredentials;
    if (credentials?.refusal) throw credentials.refusal;
    if (credentials?.pendingApiKey !== undefined) {
      const accessToken = await this.exchange(request, credentials.pendingApiKey);
      credentials.pendingApiKey = undefined;
      credentials.accessToken = accessToken;
      const principal = await this.verifyExchanged(accessToken);
      const refusal = await this.refusalFor(principal);
      if (refusal !== null) throw refusal;
      request.principal = principal;
    }
    if (operation.access.caller !== 'anyone' && request.principal === null) {
      throw new AppError('AUTH_TOKEN_MISSING', 'Send an access token as "Authorization: Bearer <token>", or an API key as X-Api-Key', {
        headers: { 'www-authenticate': challenge() },
      });
    }
  }

  private async read(request: FastifyRequest, operation: PublicOperation): Promise<EdgeCredentials | null> {
    const header = request.headers.authorization;
    const apiKey = request.headers['x-api-key'];
    const queryToken = operation.websocket ? (request.query as Record<string, unknown>).access_token : undefined;
    const offered = [header, apiKey, queryToken].filter((value) => value !== undefined).length;
    if (offered === 0) return null;
    if (offered > 1) return { refusal: refused('Send one credential: Authorization, X-Api-Key or access_token', 'invalid_request') };

    if (apiKey !== undefined) {
      if (typeof apiKey !== 'string' || apiKey === '' || apiKey.length > 256) {
        return { refusal: refused('X-Api-Key is not a key', 'invalid_request') };
      }
      const cached = this.apiKeys.cached(apiKey);
      if (cached === undefined) return { pendingApiKey: apiKey };
      const principal = await this.verifyExchanged(cached);
      const refusal = await this.refusalFor(principal);
      if (refusal?.code === 'AUTH_TOKEN_REVOKED') {
        this.apiKeys.forget(apiKey);
        return { pendingApiKey: apiKey };
      }
      if (refusal !== null) return { refusal };
      request.principal = principal;
      return { accessToken: cached };
    }

    let token: string;
    if (header !== undefined) {
      const match = BEARER.exec(header);
      if (!match?.[1]) return { refusal: refused('The Authorization header must be "Bearer <token>"', 'invalid_request') };
      token = match[1];
    } else if (typeof queryToken === 'string' && queryToken !== '') {
      token = queryToken;
    } else {
      return { refusal: refused('access_token is empty', 'invalid_request') };
    }

    let principal: Principal;
    try {
      principal = await this.tokens.verify(token);
    } catch (error) {
      if (error instanceof KeysUnavailableError) {
        request.log.error({ err: error.cause }, 'token verification keys unavailable');
        throw new AppError('AUTH_KEYS_UNAVAILABLE', 'Try again shortly', { headers: { 'retry-after': '1' } });
      }
      const reason = error instanceof InvalidTokenError ? error.message : 'the token is not valid';
      request.log.info({ reason }, 'access token refused at the edge');
      return { refusal: refused(reason) };
    }
    const refusal = await this.refusalFor(principal);
    if (refusal !== null) {
      request.log.info({ reason: refusal.detail }, 'access token refused at the edge: authorization changed');
      return { refusal };
    }
    request.principal = principal;
    return { accessToken: token };
  }

  private async refusalFor(principal: Principal): Promise<AppError | null> {
    if (this.freshness === null) return null;
    return refusalOf(await this.freshness.check(principal), principal);
  }

  private async exchange(request: FastifyRequest, apiKey: string): Promise<string> {
    try {
      return await this.apiKeys.exchange(apiKey, this.exchangeHeaders(request));
    } catch (error) {
      if (error instanceof UpstreamError) throw error.toAppError();
      throw error;
    }
  }

  /** A token auth just minted: verified like any other (and then cached), so a forged answer gets nowhere. */
  private async verifyExchanged(accessToken: string) {
    try {
      return await this.tokens.verify(accessToken);
    } catch (error) {
      if (error instanceof KeysUnavailableError) {
        throw new AppError('AUTH_KEYS_UNAVAILABLE', 'Try again shortly', { headers: { 'retry-after': '1' } });
      }
      throw new AppError('GATEWAY_BAD_UPSTREAM_RESPONSE', 'The auth service answered with a token that does not verify');
    }
  }
}
