import { AUTH_OPERATIONS } from '@shop/contracts';
import { registerOperations } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthServices } from '../../services';

/** The public keys that verify access tokens: the current one first, then any previous one. */
const jwksRoutes: FastifyPluginAsyncTypebox<{ services: AuthServices }> = async (app, { services }) => {
  registerOperations(app, AUTH_OPERATIONS, {
    getJwks: {
      handler: async (_request, reply) => {
        // Short enough that a rotation reaches verifiers quickly; they refetch on an unknown kid anyway.
        return reply.header('cache-control', 'public, max-age=300').send({ keys: services.keys.published });
      },
    },
  });
};

export default jwksRoutes;
