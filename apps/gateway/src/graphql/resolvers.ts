import {
  AUTH_OPERATIONS,
  CATALOG_OPERATIONS,
  ORDERS_OPERATIONS,
  RECOMMENDATIONS_OPERATIONS,
  type Category,
  type Order,
  type Page,
  type Product,
  type RecommendationList,
  type User,
} from '@shop/contracts';
import { AppError } from '@shop/service-kit';
import type { FastifyRequest } from 'fastify';
import { GraphQLScalarType, Kind } from 'graphql';
import { asGraphqlError } from './graphql-errors';
import type { OrderFeed } from './order-feed';
import type { ServiceCalls } from './service-calls';

/** What every resolver and loader gets: the caller's request and its calls to the services. */
export interface GraphqlContext {
  request: FastifyRequest;
  calls: ServiceCalls;
  /** Only on a WebSocket connection. */
  orderFeed?: OrderFeed;
}

interface Connection<T> {
  edges: { node: T; cursor: string | null }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** A REST page as a Relay connection: the page's next cursor is `endCursor` (and the last edge's cursor). */
export function connectionOf<T>(page: Page<T>): Connection<T> {
  const last = page.items.length - 1;
  return {
    edges: page.items.map((node, index) => ({ node, cursor: index === last ? page.nextCursor : null })),
    pageInfo: { hasNextPage: page.nextCursor !== null, endCursor: page.nextCursor },
  };
}

/**
 * `Idempotency-Key` as headers carry it. A key that no header can carry is refused as orders
 * refuses a malformed one; what can be sent goes to orders, which holds the rest of the rule.
 */
function idempotencyHeader(key: string | null | undefined): Record<string, string> {
  if (typeof key !== 'string') return {};
  if (key === '' || /[^\x20-\x7e]/.test(key)) {
    throw new AppError('ORDERS_INVALID_IDEMPOTENCY_KEY', 'Use 1 to 255 visible ASCII characters, e.g. a UUID', {
      errors: [{ path: '/variables/idempotencyKey', message: 'must be 1 to 255 visible ASCII characters' }],
    });
  }
  return { 'idempotency-key': key };
}

type Args = Record<string, unknown>;
interface ProductFilter {
  categoryId?: string | null;
  minPrice?: number | null;
  maxPrice?: number | null;
  inStock?: boolean | null;
}

/** ISO 8601 strings, exactly as REST writes them. */
const DateTime = new GraphQLScalarType({
  name: 'DateTime',
  serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
  parseValue: (value) => {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new TypeError('DateTime must be an ISO 8601 string');
    return value;
  },
  parseLiteral: (node) => {
    if (node.kind !== Kind.STRING || Number.isNaN(Date.parse(node.value))) throw new TypeError('DateTime must be an ISO 8601 string');
    return node.value;
  },
});

/**
 * Each root field and mutation is one public operation of the table in libs/contracts, called
 * through the gateway's upstream pools with the caller's credentials: the services decide who may
 * see what, exactly as for REST. Relations between resources are the loaders' (loaders.ts), so
 * lists never cost a call per item.
 */
export const resolvers = {
  DateTime,
  Query: {
    products: async (_root: unknown, args: Args & { filter?: ProductFilter | null }, { calls }: GraphqlContext) =>
      connectionOf(
        await calls.required<Page<Product>>(CATALOG_OPERATIONS.listProducts, {
          query: {
            limit: args.first as number,
            cursor: args.after as string | undefined,
            q: args.q as string | undefined,
            sort: args.sort as string | undefined,
            categoryId: args.filter?.categoryId,
            minPrice: args.filter?.minPrice,
            maxPrice: args.filter?.maxPrice,
            inStock: args.filter?.inStock,
          },
        }),
      ),
    product: (_root: unknown, args: { id: string }, { calls }: GraphqlContext) =>
      calls.json<Product>(CATALOG_OPERATIONS.getProduct, { params: { id: args.id } }, { missingIsNull: true }),
    categories: async (_root: unknown, args: Args, { calls }: GraphqlContext) =>
      connectionOf(
        await calls.required<Page<Category>>(CATALOG_OPERATIONS.listCategories, {
          query: { limit: args.first as number, cursor: args.after as string | undefined },
        }),
      ),
    category: (_root: unknown, args: { id: string }, { calls }: GraphqlContext) =>
      calls.json<Category>(CATALOG_OPERATIONS.getCategory, { params: { id: args.id } }, { missingIsNull: true }),
    me: (_root: unknown, _args: Args, { calls }: GraphqlContext) => calls.required<User>(AUTH_OPERATIONS.getMe),
    orders: async (_root: unknown, args: Args, { calls }: GraphqlContext) =>
      connectionOf(
        await calls.required<Page<Order>>(ORDERS_OPERATIONS.listOrders, {
          query: {
            limit: args.first as number,
            cursor: args.after as string | undefined,
            status: args.status as string | undefined,
            userId: args.userId as string | undefined,
          },
        }),
      ),
    // Someone else's order is a 404 from orders, as on REST: null here, revealing nothing.
    order: (_root: unknown, args: { id: string }, { calls }: GraphqlContext) =>
      calls.json<Order>(ORDERS_OPERATIONS.getOrder, { params: { id: args.id } }, { missingIsNull: true }),
    recommendedProducts: async (_root: unknown, args: { first: number }, { calls }: GraphqlContext) =>
      (await calls.required<RecommendationList>(RECOMMENDATIONS_OPERATIONS.getRecommendations, { query: { limit: args.first } })).items,
  },

  Mutation: {
    placeOrder: (_root: unknown, args: { input: unknown; idempotencyKey?: string | null; waitSeconds?: number | null }, { calls }: GraphqlContext) => {
      const headers = idempotencyHeader(args.idempotencyKey);
      if (typeof args.waitSeconds === 'number') headers.prefer = `wait=${args.waitSeconds}`;
      return calls.required<Order>(ORDERS_OPERATIONS.createOrder, { body: args.input, headers });
    },
    cancelOrder: (_root: unknown, args: { id: string; idempotencyKey?: string | null }, { calls }: GraphqlContext) =>
      calls.required<Order>(ORDERS_OPERATIONS.cancelOrder, { params: { id: args.id }, headers: idempotencyHeader(args.idempotencyKey) }),
    createProduct: (_root: unknown, args: { input: unknown }, { calls }: GraphqlContext) =>
      calls.required<Product>(CATALOG_OPERATIONS.createProduct, { body: args.input }),
    updateProduct: (_root: unknown, args: { id: string; input: unknown }, { calls }: GraphqlContext) =>
      calls.required<Product>(CATALOG_OPERATIONS.updateProduct, { params: { id: args.id }, body: args.input }),
    deleteProduct: async (_root: unknown, args: { id: string }, { calls }: GraphqlContext) => {
      await calls.json(CATALOG_OPERATIONS.deleteProduct, { params: { id: args.id } });
      return true;
    },
  },

  Subscription: {
    orderUpdated: {
      subscribe: async (_root: unknown, _args: Args, context: GraphqlContext) => {
        try {
          if (!context.orderFeed) throw new AppError('GATEWAY_UPGRADE_REQUIRED', 'Subscribe over a WebSocket (graphql-transport-ws) at /graphql');
          return await context.orderFeed.updates();
        } catch (error) {
          // Sent on the socket as it is: it must carry its code already.
          throw asGraphqlError(error, context.request);
        }
      },
      // Each event is the argument list of an emitted `order`.
      resolve: (event: [Order]) => event[0],
    },
  },
};
