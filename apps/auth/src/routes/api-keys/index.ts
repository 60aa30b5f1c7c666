import { AUTH_OPERATIONS } from '@shop/contracts';
import { registerOperations, setNextLink } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createApiKey, listApiKeys, revokeApiKey, toApiKey } from '../../domain/api-keys';
import type { AuthServices } from '../../services';

/** API keys for machines: created with scopes, shown once, revocable. Admins only. */
const apiKeyRoutes: FastifyPluginAsyncTypebox<{ services: AuthServices }> = async (app, { services }) => {
  const { db, authorization } = services;

  registerOperations(app, AUTH_OPERATIONS, {
    createApiKey: {
      handler: async (request, reply) => {
        const created = await createApiKey(db, request.body, request.principal!.userId);
        return reply.code(201).header('cache-control', 'no-store').send(created);
      },
    },

    listApiKeys: {
      handler: async (request, reply) => {
        const page = await listApiKeys(db, request.query);
        setNextLink(request, reply, page.nextCursor);
        return { items: page.rows.map(toApiKey), nextCursor: page.nextCursor };
      },
    },

    revokeApiKey: {
      handler: async (request, reply) => {
        await revokeApiKey(db, request.params.id);
        await authorization.grantRevoked(request.params.id);
        return reply.code(204).send(null);
      },
    },
  });
};

export default apiKeyRoutes;
