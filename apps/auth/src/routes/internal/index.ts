import { API_KEY_ROLE, ApiKeyExchangeResponseSchema, ProblemSchema } from '@shop/contracts';
import { AppError } from '@shop/service-kit';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authenticateApiKey } from '../../domain/api-keys';
import type { AuthServices } from '../../services';

/**
 * Internal, for the gateway only (it never routes `/internal/*` from outside): trades an API key
 * for a short-lived access token with what the key may do now (its scopes that its creator still
 * holds; none of it while the creator is disabled), so services only ever verify JWTs. The token
 * names the creator (`owner`) and their authorization version, so it dies with their rights.
 * The key itself is the credential, so the route needs no other protection.
 */
const internalRoutes: FastifyPluginAsyncTypebox<{ services: AuthServices }> = async (app, { services }) => {
  app.post('/internal/v1/api-keys/exchange', {
    schema: {
      tags: ['internal'],
      summary: 'Exchange an API key (X-Api-Key) for a short-lived access token',
      headers: Type.Object({ 'x-api-key': Type.Optional(Type.String({ maxLength: 256 })) }),
      response: { 200: ApiKeyExchangeResponseSchema, 401: ProblemSchema },
    },
    handler: async (request, reply) => {
      const presented = request.headers['x-api-key'];
      if (!presented) throw new AppError('AUTH_API_KEY_INVALID', 'Send the key as X-Api-Key');
      const { key, creator, effectiveScopes } = await authenticateApiKey(services.db, presented).catch((error: unknown) => {
        services.metrics.apiKeyExchanges.inc({ result: 'refused' });
        throw error;
      });
      const { accessToken, expiresIn } = await services.accessTokens.issue(
        { id: key.id, role: API_KEY_ROLE, scopes: effectiveScopes, grantId: key.id, authzVersion: creator.authzVersion, ownerId: creator.id },
        services.config.API_KEY_TOKEN_TTL_SECONDS,
      );
      services.metrics.apiKeyExchanges.inc({ result: 'issued' });
      return reply.header('cache-control', 'no-store').send({ accessToken, tokenType: 'Bearer' as const, expiresIn });
    },
  });
};

export default internalRoutes;
