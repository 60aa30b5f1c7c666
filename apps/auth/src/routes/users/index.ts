import { AUTH_OPERATIONS } from '@shop/contracts';
import { registerOperations, setNextLink } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listUsers, toManagedUser, updateUser } from '../../domain/users';
import type { AuthServices } from '../../services';

/** User administration: list everyone, change a role, disable or re-enable an account. Admins only. */
const userRoutes: FastifyPluginAsyncTypebox<{ services: AuthServices }> = async (app, { services }) => {
  const { db, authorization } = services;

  registerOperations(app, AUTH_OPERATIONS, {
    listUsers: {
      handler: async (request, reply) => {
        const page = await listUsers(db, request.query);
        setNextLink(request, reply, page.nextCursor);
        return { items: page.rows.map(toManagedUser), nextCursor: page.nextCursor };
      },
    },

    updateUser: {
      handler: async (request) => {
        const { user, changed } = await updateUser(db, request.principal!.userId, request.params.id, request.body);
        if (changed) await authorization.userChanged(user);
        return toManagedUser(user);
      },
    },
  });
};

export default userRoutes;
