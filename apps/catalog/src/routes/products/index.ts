import { CATALOG_OPERATIONS } from '@shop/contracts';
import { AppError, registerOperations, setNextLink } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { entityTagOf } from '../../domain/entity-tags';
import { toProduct } from '../../domain/products';
import { answerConditionalRead, ifMatchOf, READ_CACHE_CONTROL, refuseMergePatchOutsidePatch } from '../../http/conditional-requests';
import type { CatalogServices } from '../../services';

/** Products: public reads (cached, conditional), writes for `catalog:write` (declared in the contracts' operation table). */
const productRoutes: FastifyPluginAsyncTypebox<{ services: CatalogServices }> = async (app, { services }) => {
  const { catalog } = services;
  app.addHook('preValidation', refuseMergePatchOutsidePatch);

  registerOperations(app, CATALOG_OPERATIONS, {
    listProducts: {
      handler: async (request, reply) => {
        const page = await catalog.listProducts(request.query);
        setNextLink(request, reply, page.nextCursor);
        reply.header('cache-control', READ_CACHE_CONTROL);
        return page;
      },
    },

    getProduct: {
      handler: async (request, reply) => {
        const product = await catalog.getProduct(request.params.id);
        if (!product) throw new AppError('CATALOG_PRODUCT_NOT_FOUND', `No product has the id ${request.params.id}`);
        if (answerConditionalRead(request, reply, product.version)) return reply.code(304).send(null);
        return product;
      },
    },

    createProduct: {
      handler: async (request, reply) => {
        const row = await catalog.createProduct(request.body);
        return reply
          .code(201)
          .header('location', `/v1/products/${row.id}`)
          .header('etag', entityTagOf(row.version))
          .send(toProduct(row));
      },
    },

    replaceProduct: {
      handler: async (request, reply) => {
        const row = await catalog.replaceProduct(request.params.id, request.body, ifMatchOf(request));
        return reply.header('etag', entityTagOf(row.version)).send(toProduct(row));
      },
    },

    updateProduct: {
      handler: async (request, reply) => {
        const row = await catalog.patchProduct(request.params.id, request.body, ifMatchOf(request));
        return reply.header('etag', entityTagOf(row.version)).send(toProduct(row));
      },
    },

    deleteProduct: {
      handler: async (request, reply) => {
        await catalog.deleteProduct(request.params.id, ifMatchOf(request));
        return reply.code(204).send(null);
      },
    },
  });
};

export default productRoutes;
