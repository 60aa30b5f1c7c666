import { Type } from '@sinclair/typebox';
import { ApiKeyCreateBodySchema, ApiKeyCreatedSchema, ApiKeyPageSchema, IdParamsSchema, ListQuerySchema, ProblemSchema } from '@shop/contracts';
import { setNextLink } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createApiKey, listApiKeys, revokeApiKey, toApiKey } from '../../domain/api-keys';
import type { AuthServices } from '../../services';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema };

/** API keys for machines: created with scopes, shown once, revocable. Admins only. */
const apiKeyRoutes: FastifyPluginAsyncTypebox<{ services: AuthServices }> = async (app, { services }) => {
  const { db, authorization } = services;
  app.addHook('onRequest', app.requireScopes('users:admin'));

  app.post('/v1/auth/api-keys', {
    schema: {
      tags: ['api-keys'],
      summary: 'Create an API key; the secret is in this response only',
      description:
        'A key acts for its creator: it never carries more than the creator may do now (its scopes that the creator still ' +
        'holds), and stops working while the creator is disabled. A key is not a user: it may do only what its scopes grant ' +
        '(no scope, nothing but public reads; it never places orders).',
      security: [{ bearerAuth: [] }],
      body: ApiKeyCreateBodySchema,
      response: { 201: ApiKeyCreatedSchema, ...problems },
    },
    handler: async (request, reply) => {
      const created = await createApiKey(db, request.body, request.principal!.userId);
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  });

  app.get('/v1/auth/api-keys', {
    schema: {
      tags: ['api-keys'],
      summary: 'List live API keys (without secrets)',
      security: [{ bearerAuth: [] }],
      querystring: ListQuerySchema,
      response: { 200: ApiKeyPageSchema, ...problems },
    },
    handler: async (request, reply) => {
      const page = await listApiKeys(db, request.query);
      setNextLink(request, reply, page.nextCursor);
      return { items: page.rows.map(toApiKey), nextCursor: page.nextCursor };
    },
  });

  app.delete('/v1/auth/api-keys/:id', {
    schema: {
      tags: ['api-keys'],
      summary: 'Revoke an API key',
      description: 'The key, and every token exchanged for it, stops working within 5 seconds.',
      security: [{ bearerAuth: [] }],
      params: IdParamsSchema,
      response: { 204: Type.Null({ description: 'Revoked' }), 404: ProblemSchema, ...problems },
    },
    handler: async (request, reply) => {
      await revokeApiKey(db, request.params.id);
      await authorization.grantRevoked(request.params.id);
      return reply.code(204).send(null);
    },
  });
};

export default apiKeyRoutes;
