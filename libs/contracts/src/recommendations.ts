// Recommendations: products bought together, products for the signed-in customer.
import { Type, type Static } from '@sinclair/typebox';
import { ProductSchema } from './catalog';

export const MAX_RECOMMENDATIONS = 50;
export const DEFAULT_RECOMMENDATIONS = 10;

export const RecommendationReasons = ['bought-together', 'similar-to-your-orders', 'popular'] as const;
export const RecommendationReasonSchema = Type.Union(RecommendationReasons.map((reason) => Type.Literal(reason)));
export type RecommendationReason = Static<typeof RecommendationReasonSchema>;

export const RecommendationQuerySchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: MAX_RECOMMENDATIONS, default: DEFAULT_RECOMMENDATIONS }),
  },
  { additionalProperties: false },
);
export type RecommendationQuery = Static<typeof RecommendationQuerySchema>;

export const RecommendedItemSchema = Type.Object(
  {
    product: ProductSchema,
    score: Type.Number({ description: 'Higher is better; comparable only among items of the same reason' }),
    reason: RecommendationReasonSchema,
  },
  { $id: 'RecommendedItem' },
);
export type RecommendedItem = Static<typeof RecommendedItemSchema>;

/** Best first. Not paged: a recommendation list is short by nature (at most 50). */
export const RecommendationListSchema = Type.Object({ items: Type.Array(RecommendedItemSchema) }, { $id: 'RecommendationList' });
export type RecommendationList = Static<typeof RecommendationListSchema>;
