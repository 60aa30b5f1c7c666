import { IdParamsSchema, ListQuerySchema, ManagedUserSchema, ProblemSchema, UserPageSchema, UserPatchSchema } from '@shop/contracts';
import { setNextLink } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listUsers, toManagedUser, updateUser } from '../../domain/users';
import type { AuthServices } from '../../services';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema };

/** User administration: list everyone, change a role, disable or re-enable an account. Admins only. */
const userRoutes: FastifyPluginAsyncTypebox<{ services: AuthServices }> = async (app, { services }) => {
  const { db, authorization } = services;
  app.addHook('onRequest', app.requireScopes('users:admin'));

  app.get('/v1/users', {
    schema: {
      tags: ['users'],
      summary: 'List users, oldest first',
      security: [{ bearerAuth: [] }],
      querystring: ListQuerySchema,
      response: { 200: UserPageSchema, ...problems },
    },
    handler: async (request, reply) => {
      const page = await listUsers(db, request.query);
      setNextLink(request, reply, page.nextCursor);
      return { items: page.rows.map(toManagedUser), nextCursor: page.nextCursor };
    },
  });

  app.patch('/v1/users/:id', {
    schema: {
      tags: ['users'],
      summary: "Change a user's role, or disable or re-enable the account",
      description:
        'Takes application/json or application/merge-patch+json: `{"role": "customer"}`, `{"disabled": true}`, or both. ' +
        'Takes effect everywhere within 5 seconds: every token the user holds (and every API key they created) stops ' +
        'working or loses the rights it no longer has, and open WebSockets close. A disabled user cannot log in or refresh, ' +
        'and their sessions stay ended when they are re-enabled. The last enabled admin can be neither demoted nor disabled (409).',
      security: [{ bearerAuth: [] }],
      params: IdParamsSchema,
      body: UserPatchSchema,
      response: { 200: ManagedUserSchema, 404: ProblemSchema, 409: ProblemSchema, ...problems },
    },
    handler: async (request) => {
      const { user, changed } = await updateUser(db, request.principal!.userId, request.params.id, request.body);
      if (changed) await authorization.userChanged(user);
      return toManagedUser(user);
    },
  });
};

export default userRoutes;
