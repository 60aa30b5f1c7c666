import { CategorySchema, OrderItemSchema, OrderSchema, ProductSchema, RecommendedItemSchema, UserSchema } from '@shop/contracts';
import { Type, type TSchema } from '@sinclair/typebox';
import { buildSchema, getNamedType, isEnumType, isNonNullType, isObjectType, type GraphQLObjectType } from 'graphql';
import t from 'tap';
import { RESOURCE_TYPES, SCHEMA_SDL } from '../../src/graphql/schema';

interface JsonSchema {
  type?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

/** What a REST value of this schema must be in GraphQL, read from the JSON Schema independently of the generator. */
function expectedNamedType(schema: JsonSchema): string {
  const present = schema.anyOf?.filter((member) => member.type !== 'null');
  if (present && present.every((member) => typeof member.const === 'string')) return 'enum-or-String';
  if (present?.length === 1) return expectedNamedType(present[0]!);
  if (schema.type === 'array') return expectedNamedType(schema.items!);
  if (schema.type === 'object') return 'object';
  if (schema.format === 'uuid') return 'ID';
  if (schema.format === 'date-time') return 'DateTime';
  // GraphQL's Int is 32-bit signed: a wider (or unbounded) integer must travel as Float, exact to 2^53.
  if (schema.type === 'integer') return (schema.minimum ?? -Infinity) >= -2147483648 && (schema.maximum ?? Infinity) <= 2147483647 ? 'Int' : 'Float';
  return { string: 'String', number: 'Float', boolean: 'Boolean' }[schema.type ?? ''] ?? `unknown ${JSON.stringify(schema)}`;
}

/** Every way the GraphQL type differs from the REST resource: missing fields, nullability, format. */
function mismatches(rest: TSchema, type: GraphQLObjectType): string[] {
  const schema = rest as JsonSchema;
  const required = new Set(schema.required ?? []);
  const fields = type.getFields();
  const found: string[] = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const field = fields[name];
    if (!field) {
      found.push(`${type.name}.${name} is missing`);
      continue;
    }
    const restNullable = !required.has(name) || (property.anyOf?.some((member) => member.type === 'null') ?? false);
    if (restNullable === isNonNullType(field.type)) found.push(`${type.name}.${name}: nullable in REST is ${restNullable}, in GraphQL ${!isNonNullType(field.type)}`);
    const expected = expectedNamedType(property);
    const actual = getNamedType(field.type);
    const fits =
      expected === actual.name ||
      (expected === 'enum-or-String' && (isEnumType(actual) || actual.name === 'String')) ||
      (expected === 'object' && isObjectType(actual));
    if (!fits) found.push(`${type.name}.${name}: REST ${expected}, GraphQL ${actual.name}`);
    if (isEnumType(actual)) {
      const restValues = property.anyOf?.map((member) => member.const) ?? [];
      const graphqlValues = actual.getValues().map((value) => value.value as unknown);
      if (JSON.stringify(restValues) !== JSON.stringify(graphqlValues)) found.push(`${type.name}.${name}: values ${JSON.stringify(restValues)} vs ${JSON.stringify(graphqlValues)}`);
    }
  }
  return found;
}

const schema = buildSchema(SCHEMA_SDL);
const REST_SCHEMAS: Record<(typeof RESOURCE_TYPES)[number], TSchema> = {
  Product: ProductSchema,
  Category: CategorySchema,
  Order: OrderSchema,
  OrderItem: OrderItemSchema,
  User: UserSchema,
  RecommendedItem: RecommendedItemSchema,
};

t.test('every field of each REST resource is in its GraphQL type, with the same nullability and format', async (t) => {
  for (const name of RESOURCE_TYPES) {
    const type = schema.getType(name);
    t.ok(isObjectType(type), `${name} is an object type`);
    t.same(mismatches(REST_SCHEMAS[name], type as GraphQLObjectType), [], name);
  }
});

t.test('the comparison sees drift', async (t) => {
  const product = schema.getType('Product') as GraphQLObjectType;
  const drifted = Type.Object({ ...ProductSchema.properties, weightGrams: Type.Integer(), description: Type.String(), stock: Type.Union([Type.Integer({ minimum: 0, maximum: 10 }), Type.Null()]) });
  t.same(mismatches(drifted, product).sort(), [
    'Product.description: nullable in REST is false, in GraphQL true',
    'Product.stock: nullable in REST is true, in GraphQL false',
    'Product.weightGrams is missing',
  ]);
  const reformatted = Type.Object({ ...ProductSchema.properties, createdAt: Type.String(), id: Type.Integer() });
  t.same(mismatches(reformatted, product).sort(), ['Product.createdAt: REST String, GraphQL DateTime', 'Product.id: REST Float, GraphQL ID']);
  const widened = Type.Object({ ...ProductSchema.properties, stock: Type.Integer({ minimum: 0 }), priceCents: Type.Integer({ minimum: 0, maximum: 2 ** 31 }) });
  t.same(mismatches(widened, product).sort(), ['Product.priceCents: REST Float, GraphQL Int', 'Product.stock: REST Float, GraphQL Int'], 'an Int that REST may overflow');
  const order = schema.getType('Order') as GraphQLObjectType;
  const narrowed = Type.Object({ ...OrderSchema.properties, totalCents: Type.Union([Type.Integer({ minimum: 0, maximum: 100 }), Type.Null()]) });
  t.same(mismatches(narrowed, order), ['Order.totalCents: REST Int, GraphQL Float'], 'a Float where an Int fits');
});

t.test('integers wider than 32 bits are Float, and say so', async (t) => {
  const fields = (name: string) => (schema.getType(name) as GraphQLObjectType).getFields();
  t.equal(String(fields('Order').totalCents!.type), 'Float');
  t.match(fields('Order').totalCents!.description, /exceed Int/);
  t.equal(String(fields('OrderItem').lineTotalCents!.type), 'Float');
  t.equal(String(fields('OrderItem').quantity!.type), 'Int!');
  t.equal(fields('OrderItem').quantity!.description, undefined);
  t.equal(String(fields('Product').priceCents!.type), 'Int!');
});

t.test('the relations the contract names are there', async (t) => {
  const fields = (name: string) => (schema.getType(name) as GraphQLObjectType).getFields();
  t.equal(String(fields('Product').category!.type), 'Category');
  t.equal(String(fields('Product').recommendations!.type), '[RecommendedItem!]');
  t.equal(String(fields('OrderItem').product!.type), 'Product', 'null once the product is deleted');
  t.same(Object.keys(fields('Query')).sort(), ['categories', 'category', 'me', 'order', 'orders', 'product', 'products', 'recommendedProducts']);
  t.same(Object.keys(fields('Mutation')).sort(), ['cancelOrder', 'createProduct', 'deleteProduct', 'placeOrder', 'updateProduct']);
  t.same(Object.keys(fields('Subscription')), ['orderUpdated']);
});
