import { CATALOG_OPERATIONS, MAX_PRODUCT_IDS_PER_READ, RECOMMENDATIONS_OPERATIONS, type Category, type OrderItem, type Page, type Product, type RecommendationList, type RecommendedItem } from '@shop/contracts';
import type { GraphqlContext } from './resolvers';

interface LoaderQuery<Source, Params = Record<string, unknown>> {
  obj: Source;
  params: Params;
}

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

/**
 * Products by id in as few calls as the catalog allows: `GET /v1/products?ids=...` takes up to
 * 100 ids a page. A product that no longer exists is simply absent (its line's `product` is null).
 */
async function productsById(ids: string[], { calls }: GraphqlContext): Promise<Map<string, Product>> {
  const found = new Map<string, Product>();
  const pages = await Promise.all(
    chunks([...new Set(ids)], MAX_PRODUCT_IDS_PER_READ).map((batch) =>
      calls.required<Page<Product>>(CATALOG_OPERATIONS.listProducts, { query: { ids: batch.join(','), limit: batch.length } }),
    ),
  );
  for (const page of pages) for (const product of page.items) found.set(product.id, product);
  return found;
}

/**
 * Mercurius loaders: every use of a field across one query's result arrives in one batch, so an
 * order list of 20 orders with 5 lines each asks the catalog once, not 100 times.
 */
export const loaders = {
  OrderItem: {
    product: async (queries: LoaderQuery<OrderItem>[], context: GraphqlContext) => {
      const products = await productsById(
        queries.map(({ obj }) => obj.productId),
        context,
      );
      return queries.map(({ obj }) => products.get(obj.productId) ?? null);
    },
  },
  Product: {
    // Categories are few: one call per distinct category in the batch, each cached by the catalog.
    category: async (queries: LoaderQuery<Product>[], { calls }: GraphqlContext) => {
      const ids = [...new Set(queries.map(({ obj }) => obj.categoryId).filter((categoryId): categoryId is string => categoryId !== null))];
      const categories = new Map(
        await Promise.all(
          ids.map(async (categoryId) => [categoryId, await calls.json<Category>(CATALOG_OPERATIONS.getCategory, { params: { id: categoryId } }, { missingIsNull: true })] as const),
        ),
      );
      return queries.map(({ obj }) => (obj.categoryId === null ? null : (categories.get(obj.categoryId) ?? null)));
    },
    // The recommendations service answers per product: one call per distinct (product, first).
    recommendations: async (queries: LoaderQuery<Product, { first: number }>[], { calls }: GraphqlContext) => {
      const keyOf = ({ obj, params }: LoaderQuery<Product, { first: number }>) => `${obj.id}:${params.first}`;
      const distinct = new Map(queries.map((query) => [keyOf(query), query]));
      const answers = new Map(
        await Promise.all(
          [...distinct].map(async ([key, { obj, params }]) => {
            const list = await calls.json<RecommendationList>(
              RECOMMENDATIONS_OPERATIONS.getProductRecommendations,
              { params: { id: obj.id }, query: { limit: params.first } },
              { missingIsNull: true },
            );
            return [key, list?.items ?? []] as const;
          }),
        ),
      );
      return queries.map((query): RecommendedItem[] => answers.get(keyOf(query)) ?? []);
    },
  },
};
