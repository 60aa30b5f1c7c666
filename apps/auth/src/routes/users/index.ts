import { IdParamsSchema, ListQuerySchema, ProblemSchema, UserPageSchema, UserRolePatchSchema, UserSchema } from '@shop/contracts';
import { setNextLink } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { changeRole, listUsers, toUser } from '../../domain/users';
import type { AuthServices } from '../../services';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema };

/** User administration: list everyone, change a role. Admins only. */
const userRoutes: FastifyPluginAsyncTypebox<{ services: AuthServices }> = async (app, { services }) => {
  const { db } = services;
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
      return { items: page.rows.map(toUser), nextCursor: page.nextCursor };
    },
  });

  app.patch('/v1/users/:id', {
    schema: {
      tags: ['users'],
      summary: "Change a user's role",
      description: 'Takes application/json or application/merge-patch+json. The role applies to tokens issued from now on.',
      security: [{ bearerAuth: [] }],
      params: IdParamsSchema,
      body: UserRolePatchSchema,
      response: { 200: UserSchema, 404: ProblemSchema, 409: ProblemSchema, ...problems },
    },
    handler: async (request) => toUser(await changeRole(db, request.params.id, request.body.role)),
  });
};

export default userRoutes;
