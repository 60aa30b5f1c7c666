import { CATALOG_OPERATIONS } from '@shop/contracts';
import { registerOperations, setNextLink } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { findCategory, listCategories, toCategory } from '../../domain/categories';
import { entityTagOf } from '../../domain/entity-tags';
import { answerConditionalRead, ifMatchOf, READ_CACHE_CONTROL, refuseMergePatchOutsidePatch } from '../../http/conditional-requests';
import type { CatalogServices } from '../../services';

/** Categories: public reads (conditional), writes for `catalog:write`; one in use cannot be deleted. */
const categoryRoutes: FastifyPluginAsyncTypebox<{ services: CatalogServices }> = async (app, { services }) => {
  const { db, catalog } = services;
  app.addHook('preValidation', refuseMergePatchOutsidePatch);

  registerOperations(app, CATALOG_OPERATIONS, {
    listCategories: {
      handler: async (request, reply) => {
        const page = await listCategories(db, request.query);
        setNextLink(request, reply, page.nextCursor);
        reply.header('cache-control', READ_CACHE_CONTROL);
        return { items: page.rows.map(toCategory), nextCursor: page.nextCursor };
      },
    },

    getCategory: {
      handler: async (request, reply) => {
        const row = await findCategory(db, request.params.id);
        if (answerConditionalRead(request, reply, row.version)) return reply.code(304).send(null);
        return toCategory(row);
      },
    },

    createCategory: {
      handler: async (request, reply) => {
        const row = await catalog.createCategory(request.body);
        return reply
          .code(201)
          .header('location', `/v1/categories/${row.id}`)
          .header('etag', entityTagOf(row.version))
          .send(toCategory(row));
      },
    },

    updateCategory: {
      handler: async (request, reply) => {
        const row = await catalog.patchCategory(request.params.id, request.body, ifMatchOf(request));
        return reply.header('etag', entityTagOf(row.version)).send(toCategory(row));
      },
    },

    deleteCategory: {
      handler: async (request, reply) => {
        await catalog.deleteCategory(request.params.id, ifMatchOf(request));
        return reply.code(204).send(null);
      },
    },
  });
};

export default categoryRoutes;
