// The recommendations service's two public reads.
import { IdParamsSchema } from '../common';
import { ProblemSchema } from '../problem';
import { RecommendationListSchema, RecommendationQuerySchema } from '../recommendations';
import { Access, defineOperations } from './operation';

export const RECOMMENDATIONS_OPERATIONS = defineOperations('recommendations', {
  getProductRecommendations: {
    method: 'GET',
    path: '/v1/products/:id/recommendations',
    tags: ['recommendations'],
    summary: 'Products bought together with this one',
    description:
      'Best first: products bought together with this one in confirmed orders, then popular products of its category, then of the whole shop. ' +
      'Never the product itself, never a deleted or out-of-stock product. A pair counts only once enough distinct customers bought it.',
    access: Access.anyone,
    schema: { params: IdParamsSchema, querystring: RecommendationQuerySchema, response: { 200: RecommendationListSchema, 400: ProblemSchema, 404: ProblemSchema } },
  },
  getRecommendations: {
    method: 'GET',
    path: '/v1/recommendations',
    tags: ['recommendations'],
    summary: 'Products for you',
    description: 'From your confirmed orders: products like the ones you bought, never one you already bought; popular products when you have no orders yet.',
    access: Access.signedIn,
    schema: { querystring: RecommendationQuerySchema, response: { 200: RecommendationListSchema, 400: ProblemSchema, 401: ProblemSchema } },
  },
});
