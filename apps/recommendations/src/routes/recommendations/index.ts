import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { IdParamsSchema, ProblemSchema, RecommendationListSchema, RecommendationQuerySchema } from '@shop/contracts';
import { AppError } from '@shop/service-kit';
import type { RecommendationsServices } from '../../services';

/** The two public reads: bought together with a product (anyone), and for the signed-in customer. */
const recommendationRoutes: FastifyPluginAsyncTypebox<{ services: RecommendationsServices }> = async (app, { services }) => {
  const { recommender } = services;

  app.get('/v1/products/:id/recommendations', {
    schema: {
      tags: ['recommendations'],
      summary: 'Products bought together with this one',
      description:
        'Best first: products bought together with this one in confirmed orders, then popular products of its category, then of the whole shop. ' +
        'Never the product itself, never a deleted or out-of-stock product. A pair counts only once enough distinct customers bought it.',
      params: IdParamsSchema,
      querystring: RecommendationQuerySchema,
      response: { 200: RecommendationListSchema, 400: ProblemSchema, 404: ProblemSchema },
    },
    handler: async (request) => {
      const items = await recommender.forProduct(request.params.id, request.query.limit);
      if (items === null) throw new AppError('RECOMMENDATIONS_PRODUCT_NOT_FOUND', `No product has the id ${request.params.id}`);
      return { items };
    },
  });

  app.get('/v1/recommendations', {
    schema: {
      tags: ['recommendations'],
      summary: 'Products for you',
      description: 'From your confirmed orders: products like the ones you bought, never one you already bought; popular products when you have no orders yet.',
      security: [{ bearerAuth: [] }],
      querystring: RecommendationQuerySchema,
      response: { 200: RecommendationListSchema, 400: ProblemSchema, 401: ProblemSchema },
    },
    onRequest: app.requireAuth,
    handler: async (request) => ({ items: await recommender.forCustomer(request.principal!.userId, request.query.limit) }),
  });
};

export default recommendationRoutes;
