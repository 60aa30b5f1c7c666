import { CATALOG_OPERATIONS, MAX_IDS_PER_READ, RECOMMENDATIONS_OPERATIONS, type Category, type PublicOperation, type OrderItem, type Page, type Product, type RecommendationList, type RecommendedItem } from '@shop/contracts';
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
 * Rows by id in as few calls as the catalog allows: its lists take `ids=` (up to 100 a page) as a
 * batch read. A row that no longer exists is simply absent (the field that names it is null).
 */
async function byIds<T extends { id: string }>(operation: PublicOperation, ids: string[], { calls }: GraphqlContext): Promise<Map<string, T>> {
  const found = new Map<string, T>();
  const pages = await Promise.all(
    chunks([...new Set(ids)], MAX_IDS_PER_READ).map((batch) => calls.required<Page<T>>(operation, { query: { ids: batch.join(','), limit: batch.length } })),
  );
  for (const page of pages) for (const row of page.items) found.set(row.id, row);
  return found;
}

/**
 * Mercurius loaders: every use of a field across one query's result arrives in one batch, so an
 * order list of 20 orders with 5 lines each asks the catalog once, not 100 times, and a page of
 * products asks for their categories once.
 */
export const loaders = {
  OrderItem: {
    product: async (queries: LoaderQuery<OrderItem>[], context: GraphqlContext) => {
      const products = await byIds<Product>(
        CATALOG_OPERATIONS.listProducts,
        queries.map(({ obj }) => obj.productId),
        context,
      );
      return queries.map(({ obj }) => products.get(obj.productId) ?? null);
    },
  },
  Product: {
    category: async (queries: LoaderQuery<Product>[], context: GraphqlContext) => {
      const named = queries.map(({ obj }) => obj.categoryId).filter((categoryId): categoryId is string => categoryId !== null);
      const categories = named.length === 0 ? new Map<string, Category>() : await byIds<Category>(CATALOG_OPERATIONS.listCategories, named, context);
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
