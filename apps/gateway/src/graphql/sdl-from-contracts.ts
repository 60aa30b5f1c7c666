import type { TSchema } from '@sinclair/typebox';

/**
 * GraphQL types written from the contracts' TypeBox schemas, so a field added to a REST resource
 * appears in its GraphQL type with the same nullability and format, and none can drift:
 * - a property is non-null when it is required and `null` is not among its types;
 * - `format: uuid` is `ID`, `format: date-time` is `DateTime` (the same ISO 8601 string);
 * - an integer is `Int` when its declared range fits GraphQL's 32 bits, otherwise (no maximum, or
 *   one past 2^31-1, as an order's total) `Float`, which carries integers exactly up to 2^53: an
 *   `Int` would fail the field for a value REST answers; any other number is `Float`;
 * - a union of string literals is the enum named for it when every value is a GraphQL name
 *   (`OrderStatus`), otherwise `String` (`bought-together` cannot be an enum value, and the
 *   values stay exactly REST's);
 * - an object is the named type whose schema it is (`RecommendedItem.product` is `Product`).
 */

interface JsonSchema {
  type?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  $id?: string;
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

/** Whether every value an integer schema allows is a GraphQL `Int` (32-bit signed). */
export function fitsGraphqlInt(schema: { minimum?: number; maximum?: number }): boolean {
  return schema.minimum !== undefined && schema.minimum >= INT_MIN && schema.maximum !== undefined && schema.maximum <= INT_MAX;
}

/** Schemas that have a name in the GraphQL schema: object types, input types and enums. */
export type NamedSchemas = ReadonlyArray<readonly [name: string, schema: TSchema]>;

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** The same schema, whatever TypeBox cloned on the way: compared by content. */
function sameSchema(left: JsonSchema, right: JsonSchema): boolean {
  return JSON.stringify(left) === JSON.stringify(right);
}

function nameOf(schema: JsonSchema, named: NamedSchemas): string | undefined {
  return named.find(([, candidate]) => sameSchema(candidate as JsonSchema, schema))?.[0];
}

function literalsOf(schema: JsonSchema): string[] | undefined {
  const members = schema.anyOf;
  if (!members?.every((member) => typeof member.const === 'string')) return undefined;
  return members.map((member) => member.const as string);
}

/** The GraphQL type of a schema, without the non-null marker of the field itself. */
function typeOf(schema: JsonSchema, named: NamedSchemas, where: string): string {
  const name = nameOf(schema, named);
  if (name !== undefined) return name;
  const literals = literalsOf(schema);
  if (literals !== undefined) {
    if (literals.every((literal) => GRAPHQL_NAME.test(literal))) throw new Error(`${where}: name this enum (${literals.join(', ')}) among the named schemas`);
    return 'String';
  }
  if (schema.anyOf) {
    const present = schema.anyOf.filter((member) => member.type !== 'null');
    if (present.length !== 1) throw new Error(`${where}: a union of ${present.length} types has no GraphQL type`);
    return typeOf(present[0]!, named, where);
  }
  switch (schema.type) {
    case 'string':
      if (schema.format === 'uuid') return 'ID';
      if (schema.format === 'date-time') return 'DateTime';
      return 'String';
    case 'integer':
      return fitsGraphqlInt(schema) ? 'Int' : 'Float';
    case 'number':
      return 'Float';
    case 'boolean':
      return 'Boolean';
    case 'array':
      return `[${typeOf(schema.items!, named, `${where}[]`)}${isNullable(schema.items!) ? '' : '!'}]`;
    default:
      throw new Error(`${where}: no GraphQL type for ${JSON.stringify(schema)}`);
  }
}

/** An integer too wide for `Int`, carried as `Float`: its field says so in the schema. */
function isWideInteger(schema: JsonSchema): boolean {
  const present = schema.anyOf?.filter((member) => member.type !== 'null') ?? [schema];
  return present.length === 1 && present[0]!.type === 'integer' && !fitsGraphqlInt(present[0]!);
}

function isNullable(schema: JsonSchema): boolean {
  return schema.anyOf?.some((member) => member.type === 'null') ?? schema.type === 'null';
}

export const WIDE_INTEGER_DESCRIPTION = 'An integer that may exceed Int (32 bits): a Float, exact up to 2^53.';

/** `name: Type!` lines for every property of an object schema (a wide integer's preceded by its description). */
export function fieldsOf(schema: TSchema, named: NamedSchemas, where: string): string[] {
  const object = schema as JsonSchema;
  const required = new Set(object.required ?? []);
  return Object.entries(object.properties ?? {}).flatMap(([property, propertySchema]) => {
    const nonNull = required.has(property) && !isNullable(propertySchema);
    const field = `${property}: ${typeOf(propertySchema, named, `${where}.${property}`)}${nonNull ? '!' : ''}`;
    return isWideInteger(propertySchema) ? [JSON.stringify(WIDE_INTEGER_DESCRIPTION), field] : [field];
  });
}

/** `type Name { ...every property... ...extra }` (or `input`), from the schema registered under that name. */
export function objectTypeSdl(kind: 'type' | 'input', name: string, named: NamedSchemas, extraFields: string[] = []): string {
  const entry = named.find(([candidate]) => candidate === name);
  if (!entry) throw new Error(`${name} is not among the named schemas`);
  const lines = [...fieldsOf(entry[1], named, name), ...extraFields];
  return `${kind} ${name} {\n${lines.map((line) => `  ${line}`).join('\n')}\n}`;
}

/** `enum Name { ... }` from a union of string literals registered under that name. */
export function enumSdl(name: string, named: NamedSchemas): string {
  const entry = named.find(([candidate]) => candidate === name);
  const literals = entry && literalsOf(entry[1] as JsonSchema);
  if (!literals) throw new Error(`${name} is not a named union of literals`);
  return `enum ${name} {\n${literals.map((literal) => `  ${literal}`).join('\n')}\n}`;
}
