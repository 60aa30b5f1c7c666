import type { OperationAccess, Scope } from '@shop/contracts';
import { AppError } from '@shop/service-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { AuthorizationFreshness } from './authorization-freshness';
import type { Principal } from './principal';
import { VerifiedTokenCache } from './verified-token-cache';
import { InvalidTokenError, KeysUnavailableError, type AccessTokenPolicy } from './verify-access-token';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller, or null for an anonymous request. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** onRequest hook: the request must carry a valid access token. */
    requireAuth: onRequestAsyncHookHandler;
    /** onRequest hook: the request must carry a valid access token with every one of these scopes. */
    requireScopes(...scopes: Scope[]): onRequestAsyncHookHandler;
    /**
     * onRequest hook enforcing an operation's declared access (null when anyone may call it):
     * what `registerOperations` puts on every route of the operation table.
     */
    requireAccess(access: OperationAccess): onRequestAsyncHookHandler | null;
  }
}

export interface TokenVerifierOptions extends AccessTokenPolicy {
  /** The `realm` of `WWW-Authenticate` challenges. */
  realm?: string;
  /**
   * Verified tokens remembered until they expire (0: verify every request). A client sends the same
   * token many times; a map lookup instead of a signature check is most of a read's cost.
   */
  cacheMaxEntries?: number;
  /**
   * Checks every token against its owner's current authorization state (role changes, disabled
   * accounts, signed-out sessions, revoked keys). null only where no such state exists (tests of
   * the verification alone): every service passes one.
   */
  freshness: AuthorizationFreshness | null;
}

/**
 * Verifies `Authorization: Bearer` on every request that carries one, before any handler runs,
 * and exposes the caller as `request.principal`. A request with a bad token is refused even on a
 * public route: a client that sends credentials wants to know they are wrong.
 */
export function installTokenVerifier(app: FastifyInstance, options: TokenVerifierOptions): void {
  const realm = options.realm ?? 'shop';
  const challenge = (error?: string, description?: string) =>
    error ? `Bearer realm="${realm}", error="${error}", error_description="${description ?? error}"` : `Bearer realm="${realm}"`;

  app.decorateRequest('principal', null);
  const tokens = new VerifiedTokenCache(options, options.cacheMaxEntries ?? 10_000);

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (header === undefined) return;
    const match = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/i.exec(header);
    if (!match?.[1]) {
      throw new AppError('AUTH_TOKEN_INVALID', 'The Authorization header must be "Bearer <token>"', {
        headers: { 'www-authenticate': challenge('invalid_request', 'malformed Authorization header') },
      });
    }
    let principal: Principal;
    try {
      principal = await tokens.verify(match[1]);
    } catch (error) {
      if (error instanceof KeysUnavailableError) {
        request.log.error({ err: error.cause }, 'token verification keys unavailable');
        throw new AppError('AUTH_KEYS_UNAVAILABLE', 'Try again shortly', { headers: { 'retry-after': '1' } });
      }
      const reason = error instanceof InvalidTokenError ? error.message : 'the token is not valid';
      request.log.info({ reason }, 'access token refused');
      throw new AppError('AUTH_TOKEN_INVALID', reason, { headers: { 'www-authenticate': challenge('invalid_token', reason) } });
    }
    // Signature and claims hold; whether the owner's rights still do is another question.
    await options.freshness?.authorize(principal);
    request.principal = principal;
  });

  const requireAuth: onRequestAsyncHookHandler = async function (request: FastifyRequest, _reply: FastifyReply) {
    if (request.principal === null) {
      throw new AppError('AUTH_TOKEN_MISSING', 'Send an access token as "Authorization: Bearer <token>"', {
        headers: { 'www-authenticate': challenge() },
      });
    }
  };
  app.decorate('requireAuth', requireAuth);

  const refuseWithout = (principal: Principal, scopes: readonly Scope[], detail: (missing: Scope[]) => string) => {
    const missing = scopes.filter((scope) => !principal.scopes.includes(scope));
    if (missing.length > 0) {
      throw new AppError('AUTH_SCOPE_REQUIRED', detail(missing), {
        headers: { 'www-authenticate': challenge('insufficient_scope', `requires ${scopes.join(' ')}`) },
      });
    }
  };

  app.decorate('requireScopes', (...scopes: Scope[]): onRequestAsyncHookHandler => {
    return async function (request: FastifyRequest, reply: FastifyReply) {
      await requireAuth.call(this, request, reply);
      refuseWithout(request.principal!, scopes, (missing) => `This needs the scope ${missing.join(' ')}`);
    };
  });

  app.decorate('requireAccess', (access: OperationAccess): onRequestAsyncHookHandler | null => {
    if (access.caller === 'anyone') return null;
    const { scopes, apiKeys } = access;
    return async function (request: FastifyRequest, reply: FastifyReply) {
      await requireAuth.call(this, request, reply);
      const principal = request.principal!;
      // An API key is not a user: it has nothing of its own, and acts only through its scopes.
      if (principal.kind === 'api-key' && apiKeys === 'refused') {
        throw new AppError('AUTH_USER_REQUIRED', 'Only a signed-in user may do this; an API key cannot');
      }
      if (principal.kind === 'api-key' && typeof apiKeys === 'object') {
        refuseWithout(principal, apiKeys.scopes, (missing) => `An API key needs the scope ${missing.join(' ')} here`);
      }
      refuseWithout(principal, scopes, (missing) => `This needs the scope ${missing.join(' ')}`);
    };
  });
}
