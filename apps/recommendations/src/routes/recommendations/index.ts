import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RECOMMENDATIONS_OPERATIONS } from '@shop/contracts';
import { AppError, registerOperations } from '@shop/service-kit';
import type { RecommendationsServices } from '../../services';

/** The two public reads: bought together with a product (anyone), and for the signed-in customer. */
const recommendationRoutes: FastifyPluginAsyncTypebox<{ services: RecommendationsServices }> = async (app, { services }) => {
  const { recommender } = services;

  registerOperations(app, RECOMMENDATIONS_OPERATIONS, {
    getProductRecommendations: {
      handler: async (request) => {
        const items = await recommender.forProduct(request.params.id, request.query.limit);
        if (items === null) throw new AppError('RECOMMENDATIONS_PRODUCT_NOT_FOUND', `No product has the id ${request.params.id}`);
        return { items };
      },
    },

    getRecommendations: {
      handler: async (request) => ({ items: await recommender.forCustomer(request.principal!.userId, request.query.limit) }),
    },
  });
};

export default recommendationRoutes;
