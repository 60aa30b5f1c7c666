import { Type } from '@sinclair/typebox';
import {
  IdParamsSchema,
  ProblemSchema,
  ProductListQuerySchema,
  ProductPageSchema,
  ProductPatchBodySchema,
  ProductSchema,
  ProductWriteBodySchema,
} from '@shop/contracts';
import { AppError, setNextLink } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { entityTagOf } from '../../domain/entity-tags';
import { toProduct } from '../../domain/products';
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

/** Products: public reads (cached, conditional), writes for `catalog:write`. */
const productRoutes: FastifyPluginAsyncTypebox<{ services: CatalogServices }> = async (app, { services }) => {
  const { catalog } = services;
  const requireWrite = app.requireScopes('catalog:write');
  app.addHook('preValidation', refuseMergePatchOutsidePatch);

  app.get('/v1/products', {
    schema: {
      tags: ['products'],
      summary: 'List products: filter, search, sort, page by cursor',
      description:
        '`q` searches name, description and tags (all words must match, "quoted phrases" and -exclusions work). ' +
        'Results keep the chosen sort (default newest first); paging never repeats or skips a product while the catalog changes.',
      querystring: ProductListQuerySchema,
      response: { 200: ProductPageSchema, 400: ProblemSchema },
    },
    handler: async (request, reply) => {
      const page = await catalog.listProducts(request.query);
      setNextLink(request, reply, page.nextCursor);
      reply.header('cache-control', READ_CACHE_CONTROL);
      return page;
    },
  });

  app.get('/v1/products/:id', {
    schema: {
      tags: ['products'],
      summary: 'One product, with its ETag',
      params: IdParamsSchema,
      headers: ReadHeadersSchema,
      response: { 200: ProductSchema, 304: Type.Null({ description: 'Not modified: the ETag matched' }), 404: ProblemSchema },
    },
    handler: async (request, reply) => {
      const product = await catalog.getProduct(request.params.id);
      if (!product) throw new AppError('CATALOG_PRODUCT_NOT_FOUND', `No product has the id ${request.params.id}`);
      if (answerConditionalRead(request, reply, product.version)) return reply.code(304).send(null);
      return product;
    },
  });

  app.post('/v1/products', {
    schema: {
      tags: ['products'],
      summary: 'Create a product',
      security: [{ bearerAuth: [] }],
      body: ProductWriteBodySchema,
      response: { 201: ProductSchema, 409: ProblemSchema, ...writeProblems },
    },
    onRequest: requireWrite,
    handler: async (request, reply) => {
      const row = await catalog.createProduct(request.body);
      return reply
        .code(201)
        .header('location', `/v1/products/${row.id}`)
        .header('etag', entityTagOf(row.version))
        .send(toProduct(row));
    },
  });

  app.put('/v1/products/:id', {
    schema: {
      tags: ['products'],
      summary: 'Replace a product (every field; omitted optional ones are cleared)',
      security: [{ bearerAuth: [] }],
      params: IdParamsSchema,
      headers: WriteHeadersSchema,
      body: ProductWriteBodySchema,
      response: { 200: ProductSchema, 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema, ...writeProblems },
    },
    onRequest: requireWrite,
    handler: async (request, reply) => {
      const row = await catalog.replaceProduct(request.params.id, request.body, ifMatchOf(request));
      return reply.header('etag', entityTagOf(row.version)).send(toProduct(row));
    },
  });

  app.patch('/v1/products/:id', {
    schema: {
      tags: ['products'],
      summary: 'Change some fields of a product (JSON merge patch)',
      description: 'Takes application/json or application/merge-patch+json (RFC 7396): absent fields stay as they are, null removes an optional field.',
      security: [{ bearerAuth: [] }],
      params: IdParamsSchema,
      headers: WriteHeadersSchema,
      body: ProductPatchBodySchema,
      response: { 200: ProductSchema, 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema, ...writeProblems },
    },
    onRequest: requireWrite,
    handler: async (request, reply) => {
      const row = await catalog.patchProduct(request.params.id, request.body, ifMatchOf(request));
      return reply.header('etag', entityTagOf(row.version)).send(toProduct(row));
    },
  });

  app.delete('/v1/products/:id', {
    schema: {
      tags: ['products'],
      summary: 'Delete a product',
      security: [{ bearerAuth: [] }],
      params: IdParamsSchema,
      headers: WriteHeadersSchema,
      response: { 204: Type.Null({ description: 'Deleted' }), 404: ProblemSchema, 412: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema },
    },
    onRequest: requireWrite,
    handler: async (request, reply) => {
      await catalog.deleteProduct(request.params.id, ifMatchOf(request));
      return reply.code(204).send(null);
    },
  });
};

export default productRoutes;
