import {
  CategorySchema,
  OrderItemSchema,
  OrderSchema,
  OrderStatusSchema,
  PlaceOrderBodySchema,
  ProductPatchBodySchema,
  ProductSchema,
  ProductWriteBodySchema,
  RecommendedItemSchema,
  RoleSchema,
  UserSchema,
} from '@shop/contracts';
import { enumSdl, objectTypeSdl, type NamedSchemas } from './sdl-from-contracts';

/** Every contract schema with a GraphQL name; resources, inputs and enums are written from these. */
export const NAMED_SCHEMAS: NamedSchemas = [
  ['Product', ProductSchema],
  ['Category', CategorySchema],
  ['Order', OrderSchema],
  ['OrderItem', OrderItemSchema],
  ['User', UserSchema],
  ['RecommendedItem', RecommendedItemSchema],
  ['OrderStatus', OrderStatusSchema],
  ['Role', RoleSchema],
  ['PlaceOrderInput', PlaceOrderBodySchema],
  ['OrderLineInput', PlaceOrderBodySchema.properties.items.items],
  ['ProductInput', ProductWriteBodySchema],
  ['ProductPatchInput', ProductPatchBodySchema],
];

/** The REST resource each GraphQL object type mirrors: the drift test walks these. */
export const RESOURCE_TYPES = ['Product', 'Category', 'Order', 'OrderItem', 'User', 'RecommendedItem'] as const;

/** Page sizes, as REST's `limit`. */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_RECOMMENDATIONS = 10;

const connection = (node: string) => `
type ${node}Edge {
  node: ${node}!
  "Set on the last edge of a page that has a next one (the page's endCursor): lists are paged as REST lists are."
  cursor: String
}
type ${node}Connection {
  edges: [${node}Edge!]!
  pageInfo: PageInfo!
}`;

/**
 * The public API as GraphQL (shape fixed by the API contract's "GraphQL" part). Resource types and
 * inputs come from the contracts; only the relations between resources and the operations are
 * written here.
 */
export const SCHEMA_SDL = `
"An ISO 8601 time in UTC, as in REST."
scalar DateTime

${enumSdl('OrderStatus', NAMED_SCHEMAS)}
${enumSdl('Role', NAMED_SCHEMAS)}

${objectTypeSdl('type', 'Product', NAMED_SCHEMAS, [
  '"The product\'s category; null when it has none."',
  'category: Category',
  `"Products most often bought together with this one (GET /v1/products/{id}/recommendations); first: 1-50."`,
  `recommendations(first: Int = ${DEFAULT_RECOMMENDATIONS}): [RecommendedItem!]`,
])}
${objectTypeSdl('type', 'Category', NAMED_SCHEMAS)}
${objectTypeSdl('type', 'OrderItem', NAMED_SCHEMAS, ['"The catalog\'s current product; null once it is deleted."', 'product: Product'])}
${objectTypeSdl('type', 'Order', NAMED_SCHEMAS)}
${objectTypeSdl('type', 'User', NAMED_SCHEMAS)}
${objectTypeSdl('type', 'RecommendedItem', NAMED_SCHEMAS)}

type PageInfo {
  hasNextPage: Boolean!
  "Pass as \`after\` for the next page (REST's nextCursor); null on the last page."
  endCursor: String
}
${connection('Product')}
${connection('Category')}
${connection('Order')}

"GET /v1/products's filters."
input ProductFilter {
  categoryId: ID
  "In minor units, inclusive."
  minPrice: Int
  maxPrice: Int
  inStock: Boolean
}

${objectTypeSdl('input', 'OrderLineInput', NAMED_SCHEMAS)}
${objectTypeSdl('input', 'PlaceOrderInput', NAMED_SCHEMAS)}
${objectTypeSdl('input', 'ProductInput', NAMED_SCHEMAS)}
"A JSON merge patch: an absent field stays, null removes an optional one."
${objectTypeSdl('input', 'ProductPatchInput', NAMED_SCHEMAS)}

type Query {
  "sort: createdAt, -createdAt, price, -price, name or -name (default -createdAt); first: 1-${MAX_PAGE_SIZE}."
  products(first: Int = ${DEFAULT_PAGE_SIZE}, after: String, q: String, filter: ProductFilter, sort: String): ProductConnection
  product(id: ID!): Product
  categories(first: Int = ${DEFAULT_PAGE_SIZE}, after: String): CategoryConnection
  category(id: ID!): Category
  "The signed-in user."
  me: User
  "The caller's orders, newest first; with orders:read:all everyone's, filterable by userId."
  orders(first: Int = ${DEFAULT_PAGE_SIZE}, after: String, status: OrderStatus, userId: ID): OrderConnection
  "null for an order that does not exist or is someone else's."
  order(id: ID!): Order
  "For the signed-in caller, from their confirmed orders; first: 1-50."
  recommendedProducts(first: Int = ${DEFAULT_RECOMMENDATIONS}): [RecommendedItem!]
}

type Mutation {
  "idempotencyKey and waitSeconds (0-10) mean what Idempotency-Key and Prefer: wait mean on POST /v1/orders."
  placeOrder(input: PlaceOrderInput!, idempotencyKey: String, waitSeconds: Int): Order
  cancelOrder(id: ID!, idempotencyKey: String): Order
  "catalog:write"
  createProduct(input: ProductInput!): Product
  "catalog:write; a merge patch, as PATCH /v1/products/{id}."
  updateProduct(id: ID!, input: ProductPatchInput!): Product
  "catalog:write; true once deleted."
  deleteProduct(id: ID!): Boolean
}

type Subscription {
  "Each change of one of the caller's orders (the token comes in connection_init)."
  orderUpdated: Order!
}
`;
