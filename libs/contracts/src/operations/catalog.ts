// The catalog's public operations: products and categories. Reads are public and conditional; writes need catalog:write.
import {
  CategoryCreateBodySchema,
  CategoryListQuerySchema,
  CategoryPageSchema,
  CategoryPatchBodySchema,
  CategorySchema,
  ConditionalReadHeadersSchema,
  ConditionalWriteHeadersSchema,
  ProductListQuerySchema,
  ProductPageSchema,
  ProductPatchBodySchema,
  ProductSchema,
  ProductWriteBodySchema,
} from '../catalog';
import { IdParamsSchema } from '../common';
import { ProblemSchema } from '../problem';
import { Access, defineOperations, noContent } from './operation';

const writeProblems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 415: ProblemSchema };
const notModified = noContent('Not modified: the ETag matched');
const catalogWrite = Access.scopes('catalog:write');

export const CATALOG_OPERATIONS = defineOperations('catalog', {
  listProducts: {
    method: 'GET',
    path: '/v1/products',
    tags: ['products'],
    summary: 'List products: filter, search, sort, page by cursor',
    description:
      '`q` searches name, description and tags (all words must match, "quoted phrases" and -exclusions work). ' +
      'Results keep the chosen sort (default newest first); paging never repeats or skips a product while the catalog changes.',
    access: Access.anyone,
    schema: { querystring: ProductListQuerySchema, response: { 200: ProductPageSchema, 400: ProblemSchema } },
  },
  createProduct: {
    method: 'POST',
    path: '/v1/products',
    tags: ['products'],
    summary: 'Create a product',
    access: catalogWrite,
    schema: { body: ProductWriteBodySchema, response: { 201: ProductSchema, 409: ProblemSchema, ...writeProblems } },
  },
  getProduct: {
    method: 'GET',
    path: '/v1/products/:id',
    tags: ['products'],
    summary: 'One product, with its ETag',
    access: Access.anyone,
    schema: { params: IdParamsSchema, headers: ConditionalReadHeadersSchema, response: { 200: ProductSchema, 304: notModified, 404: ProblemSchema } },
  },
  replaceProduct: {
    method: 'PUT',
    path: '/v1/products/:id',
    tags: ['products'],
    summary: 'Replace a product (every field; omitted optional ones are cleared)',
    access: catalogWrite,
    schema: {
      params: IdParamsSchema,
      headers: ConditionalWriteHeadersSchema,
      body: ProductWriteBodySchema,
      response: { 200: ProductSchema, 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema, ...writeProblems },
    },
  },
  updateProduct: {
    method: 'PATCH',
    path: '/v1/products/:id',
    tags: ['products'],
    summary: 'Change some fields of a product (JSON merge patch)',
    description: 'Takes application/json or application/merge-patch+json (RFC 7396): absent fields stay as they are, null removes an optional field.',
    access: catalogWrite,
    schema: {
      params: IdParamsSchema,
      headers: ConditionalWriteHeadersSchema,
      body: ProductPatchBodySchema,
      response: { 200: ProductSchema, 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema, ...writeProblems },
    },
  },
  deleteProduct: {
    method: 'DELETE',
    path: '/v1/products/:id',
    tags: ['products'],
    summary: 'Delete a product',
    access: catalogWrite,
    schema: {
      params: IdParamsSchema,
      headers: ConditionalWriteHeadersSchema,
      response: { 204: noContent('Deleted'), 404: ProblemSchema, 412: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema },
    },
  },

  listCategories: {
    method: 'GET',
    path: '/v1/categories',
    tags: ['categories'],
    summary: 'List categories by name',
    access: Access.anyone,
    schema: { querystring: CategoryListQuerySchema, response: { 200: CategoryPageSchema, 400: ProblemSchema } },
  },
  createCategory: {
    method: 'POST',
    path: '/v1/categories',
    tags: ['categories'],
    summary: 'Create a category (the slug is made from the name when omitted)',
    access: catalogWrite,
    schema: { body: CategoryCreateBodySchema, response: { 201: CategorySchema, 409: ProblemSchema, ...writeProblems } },
  },
  getCategory: {
    method: 'GET',
    path: '/v1/categories/:id',
    tags: ['categories'],
    summary: 'One category, with its ETag',
    access: Access.anyone,
    schema: { params: IdParamsSchema, headers: ConditionalReadHeadersSchema, response: { 200: CategorySchema, 304: notModified, 404: ProblemSchema } },
  },
  updateCategory: {
    method: 'PATCH',
    path: '/v1/categories/:id',
    tags: ['categories'],
    summary: 'Change some fields of a category (JSON merge patch)',
    description: 'Takes application/json or application/merge-patch+json (RFC 7396): null removes the description.',
    access: catalogWrite,
    schema: {
      params: IdParamsSchema,
      headers: ConditionalWriteHeadersSchema,
      body: CategoryPatchBodySchema,
      response: { 200: CategorySchema, 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema, ...writeProblems },
    },
  },
  deleteCategory: {
    method: 'DELETE',
    path: '/v1/categories/:id',
    tags: ['categories'],
    summary: 'Delete a category that no product uses',
    access: catalogWrite,
    schema: {
      params: IdParamsSchema,
      headers: ConditionalWriteHeadersSchema,
      response: { 204: noContent('Deleted'), 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema },
    },
  },
});
