import { Type } from '@sinclair/typebox';
import {
  CategoryCreateBodySchema,
  CategoryListQuerySchema,
  CategoryPageSchema,
  CategoryPatchBodySchema,
  CategorySchema,
  IdParamsSchema,
  ProblemSchema,
} from '@shop/contracts';
import { setNextLink } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { findCategory, listCategories, toCategory } from '../../domain/categories';
import { entityTagOf } from '../../domain/entity-tags';
import {
  answerConditionalRead,
  ifMatchOf,
  READ_CACHE_CONTROL,
  ReadHeadersSchema,
  refuseMergePatchOutsidePatch,
  WriteHeadersSchema,
} from '../../http/conditional-requests';
import type { CatalogServices } from '../../services';

const writeProblems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 415: ProblemSchema };

/** Categories: public reads (conditional), writes for `catalog:write`; one in use cannot be deleted. */
const categoryRoutes: FastifyPluginAsyncTypebox<{ services: CatalogServices }> = async (app, { services }) => {
  const { db, catalog } = services;
  const requireWrite = app.requireScopes('catalog:write');
  app.addHook('preValidation', refuseMergePatchOutsidePatch);

  app.get('/v1/categories', {
    schema: {
      tags: ['categories'],
      summary: 'List categories by name',
      querystring: CategoryListQuerySchema,
      response: { 200: CategoryPageSchema, 400: ProblemSchema },
    },
    handler: async (request, reply) => {
      const page = await listCategories(db, request.query);
      setNextLink(request, reply, page.nextCursor);
      reply.header('cache-control', READ_CACHE_CONTROL);
      return { items: page.rows.map(toCategory), nextCursor: page.nextCursor };
    },
  });

  app.get('/v1/categories/:id', {
    schema: {
      tags: ['categories'],
      summary: 'One category, with its ETag',
      params: IdParamsSchema,
      headers: ReadHeadersSchema,
      response: { 200: CategorySchema, 304: Type.Null({ description: 'Not modified: the ETag matched' }), 404: ProblemSchema },
    },
    handler: async (request, reply) => {
      const row = await findCategory(db, request.params.id);
      if (answerConditionalRead(request, reply, row.version)) return reply.code(304).send(null);
      return toCategory(row);
    },
  });

  app.post('/v1/categories', {
    schema: {
      tags: ['categories'],
      summary: 'Create a category (the slug is made from the name when omitted)',
      security: [{ bearerAuth: [] }],
      body: CategoryCreateBodySchema,
      response: { 201: CategorySchema, 409: ProblemSchema, ...writeProblems },
    },
    onRequest: requireWrite,
    handler: async (request, reply) => {
      const row = await catalog.createCategory(request.body);
      return reply
        .code(201)
        .header('location', `/v1/categories/${row.id}`)
        .header('etag', entityTagOf(row.version))
        .send(toCategory(row));
    },
  });

  app.patch('/v1/categories/:id', {
    schema: {
      tags: ['categories'],
      summary: 'Change some fields of a category (JSON merge patch)',
      description: 'Takes application/json or application/merge-patch+json (RFC 7396): null removes the description.',
      security: [{ bearerAuth: [] }],
      params: IdParamsSchema,
      headers: WriteHeadersSchema,
      body: CategoryPatchBodySchema,
      response: { 200: CategorySchema, 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema, ...writeProblems },
    },
    onRequest: requireWrite,
    handler: async (request, reply) => {
      const row = await catalog.patchCategory(request.params.id, request.body, ifMatchOf(request));
      return reply.header('etag', entityTagOf(row.version)).send(toCategory(row));
    },
  });

  app.delete('/v1/categories/:id', {
    schema: {
      tags: ['categories'],
      summary: 'Delete a category that no product uses',
      security: [{ bearerAuth: [] }],
      params: IdParamsSchema,
      headers: WriteHeadersSchema,
      response: { 204: Type.Null({ description: 'Deleted' }), 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema },
    },
    onRequest: requireWrite,
    handler: async (request, reply) => {
      await catalog.deleteCategory(request.params.id, ifMatchOf(request));
      return reply.code(204).send(null);
    },
  });
};

export default categoryRoutes;
