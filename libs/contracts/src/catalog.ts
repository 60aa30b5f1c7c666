// Catalog: products, categories and stock reservations.
import { Type, type Static } from '@sinclair/typebox';
import { PageSchema, TimestampSchema, UuidSchema } from './common';

/** ISO 4217 code. The store sells in one currency; any other is refused. */
export const CurrencySchema = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217, the store currency' });

export const SkuSchema = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: 'Stock keeping unit; unique, compared case-insensitively',
});
export const TagSchema = Type.String({ minLength: 1, maxLength: 40, pattern: '\\S' });
export const TagsSchema = Type.Array(TagSchema, { maxItems: 20, uniqueItems: true });

/** The largest price and stock: well inside PostgreSQL's `integer` (2,147,483,647), so no input can overflow a column. */
export const MAX_PRICE_CENTS = 1_000_000_000;
export const MAX_STOCK = 1_000_000_000;
/** A product's version is a PostgreSQL `integer` column. */
const MAX_VERSION = 2_147_483_647;

/** Whole units of the currency's minor unit (cents). */
export const PriceCentsSchema = Type.Integer({ minimum: 0, maximum: MAX_PRICE_CENTS });
export const StockSchema = Type.Integer({ minimum: 0, maximum: MAX_STOCK, description: 'Units available to order now' });

const ProductNameSchema = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const DescriptionSchema = Type.String({ maxLength: 5_000 });

export const ProductSchema = Type.Object(
  {
    id: UuidSchema,
    sku: Type.String(),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    priceCents: Type.Integer({ minimum: 0, maximum: MAX_PRICE_CENTS }),
    currency: Type.String(),
    categoryId: Type.Union([UuidSchema, Type.Null()]),
    tags: Type.Array(Type.String()),
    stock: Type.Integer({ minimum: 0, maximum: MAX_STOCK }),
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
    version: Type.Integer({ minimum: 1, maximum: MAX_VERSION, description: 'Grows by one with every change, stock movements included; the ETag is made from it' }),
  },
  { $id: 'Product' },
);
export type Product = Static<typeof ProductSchema>;
export const ProductPageSchema = PageSchema(ProductSchema, { $id: 'ProductPage' });

/** POST and PUT: the whole product. Omitted optional fields take their defaults (PUT replaces everything). */
export const ProductWriteBodySchema = Type.Object(
  {
    sku: SkuSchema,
    name: ProductNameSchema,
    description: Type.Optional(Type.Union([DescriptionSchema, Type.Null()])),
    priceCents: PriceCentsSchema,
    currency: Type.Optional(CurrencySchema),
    categoryId: Type.Optional(Type.Union([UuidSchema, Type.Null()])),
    tags: Type.Optional(TagsSchema),
    stock: StockSchema,
  },
  { additionalProperties: false },
);
export type ProductWriteBody = Static<typeof ProductWriteBodySchema>;

/** PATCH (JSON merge patch, RFC 7396): absent fields stay; `null` removes an optional field. */
export const ProductPatchBodySchema = Type.Object(
  {
    sku: Type.Optional(SkuSchema),
    name: Type.Optional(ProductNameSchema),
    description: Type.Optional(Type.Union([DescriptionSchema, Type.Null()])),
    priceCents: Type.Optional(PriceCentsSchema),
    currency: Type.Optional(CurrencySchema),
    categoryId: Type.Optional(Type.Union([UuidSchema, Type.Null()])),
    tags: Type.Optional(Type.Union([TagsSchema, Type.Null()])),
    stock: Type.Optional(StockSchema),
  },
  { additionalProperties: false },
);
export type ProductPatchBody = Static<typeof ProductPatchBodySchema>;

const UUID_PATTERN = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
/** A batch read (`GET /v1/products?ids=`, `GET /v1/categories?ids=`) names at most as many rows as one page holds. */
export const MAX_IDS_PER_READ = 100;

/** `ids=<id>,<id>,...`: a list query as a batch read; ids that name nothing are left out. */
function IdsQuerySchema(things: string) {
  return Type.String({
    pattern: `^${UUID_PATTERN}(,${UUID_PATTERN}){0,${MAX_IDS_PER_READ - 1}}$`,
    description: `Only these ${things}: up to ${MAX_IDS_PER_READ} comma-separated ids (a batch read; ids that name no ${things.replace(/s$/, '')} are left out)`,
  });
}

export const ProductSorts = ['createdAt', '-createdAt', 'price', '-price', 'name', '-name'] as const;
export const ProductSortSchema = Type.Union(
  ProductSorts.map((sort) => Type.Literal(sort)),
  { default: '-createdAt', description: 'A leading "-" sorts descending' },
);
export type ProductSort = Static<typeof ProductSortSchema>;

export const ProductListQuerySchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2_048, description: 'Opaque, from the previous page' })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Full-text search over name, description and tags' })),
    categoryId: Type.Optional(UuidSchema),
    minPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_PRICE_CENTS, description: 'In minor units, inclusive' })),
    maxPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_PRICE_CENTS, description: 'In minor units, inclusive' })),
    inStock: Type.Optional(Type.Boolean({ description: 'true: only products with stock; false: only those without' })),
    ids: Type.Optional(IdsQuerySchema('products')),
    sort: ProductSortSchema,
  },
  { additionalProperties: false },
);
export type ProductListQuery = Static<typeof ProductListQuerySchema>;

export const CategorySlugSchema = Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$' });
const CategoryNameSchema = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });

export const CategorySchema = Type.Object(
  {
    id: UuidSchema,
    name: Type.String(),
    slug: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
  },
  { $id: 'Category' },
);
export type Category = Static<typeof CategorySchema>;
export const CategoryPageSchema = PageSchema(CategorySchema, { $id: 'CategoryPage' });

export const CategoryListQuerySchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2_048, description: 'Opaque, from the previous page' })),
    ids: Type.Optional(IdsQuerySchema('categories')),
  },
  { additionalProperties: false },
);
export type CategoryListQuery = Static<typeof CategoryListQuerySchema>;

export const CategoryCreateBodySchema = Type.Object(
  {
    name: CategoryNameSchema,
    slug: Type.Optional(CategorySlugSchema),
    description: Type.Optional(Type.Union([DescriptionSchema, Type.Null()])),
  },
  { additionalProperties: false },
);
export type CategoryCreateBody = Static<typeof CategoryCreateBodySchema>;

export const CategoryPatchBodySchema = Type.Object(
  {
    name: Type.Optional(CategoryNameSchema),
    slug: Type.Optional(CategorySlugSchema),
    description: Type.Optional(Type.Union([DescriptionSchema, Type.Null()])),
  },
  { additionalProperties: false },
);
export type CategoryPatchBody = Static<typeof CategoryPatchBodySchema>;

/** Conditional reads: an ETag the client holds answers 304 instead of the representation. */
export const ConditionalReadHeadersSchema = Type.Object({
  'if-none-match': Type.Optional(Type.String({ description: 'ETags the client holds; a match answers 304' })),
});

/** Conditional writes: optimistic concurrency with the ETag of the last read. */
export const ConditionalWriteHeadersSchema = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'Only change the resource if its ETag is one of these (else 412)' })),
});

/** One line of an order asking for stock. */
export const StockRequestLineSchema = Type.Object(
  { productId: UuidSchema, quantity: Type.Integer({ minimum: 1, maximum: 1_000 }) },
  { additionalProperties: false },
);
export type StockRequestLine = Static<typeof StockRequestLineSchema>;

/** A line as reserved: the catalog's authoritative sku, name and price at the moment of reservation. */
export const ReservedLineSchema = Type.Object({
  productId: UuidSchema,
  sku: Type.String(),
  name: Type.String(),
  unitPriceCents: Type.Integer({ minimum: 0 }),
  quantity: Type.Integer({ minimum: 1 }),
});
export type ReservedLine = Static<typeof ReservedLineSchema>;

/**
 * Why stock was not reserved. `order_released`: the order's stock was already released (it was
 * cancelled, possibly before its reservation arrived), so it can never be reserved again.
 */
export const StockRejectionReasons = ['out_of_stock', 'product_not_found', 'order_released'] as const;
export const StockRejectionReasonSchema = Type.Union(StockRejectionReasons.map((reason) => Type.Literal(reason)));
export type StockRejectionReason = Static<typeof StockRejectionReasonSchema>;
