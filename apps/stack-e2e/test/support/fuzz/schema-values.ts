import fc from 'fast-check';
import type { JsonSchema } from '../openapi';

/** Ids that exist, per kind of object, so that valid requests also reach objects, not only 404s. */
export type IdPools = Partial<Record<'product' | 'category' | 'order' | 'user' | 'apiKey', readonly string[]>>;

export interface ValueContext {
  /** The kind of object a uuid names, from the property or path it sits in (`productId` → product). */
  idKind?: keyof IdPools;
  pools: IdPools;
}

/**
 * Characters of valid text: printable ASCII and a few well-formed non-ASCII ones (accents, CJK,
 * an emoji outside the BMP). NUL, other controls and lone surrogates are hostile input, and
 * generated only by the mutations.
 */
const textCharacter = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: fc.constantFrom('é', 'ß', 'Ω', 'ж', '中', '文', '😀', 'ﬁ') },
);

function text(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: textCharacter, minLength, maxLength }).filter((value) => [...value].length >= minLength && value.length <= maxLength);
}

function idArbitrary(context: ValueContext): fc.Arbitrary<string> {
  const pool = context.idKind === undefined ? undefined : context.pools[context.idKind];
  const random = fc.uuid({ version: 4 });
  return pool !== undefined && pool.length > 0 ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: random }) : random;
}

/** `productId` → product, `/v1/categories/{id}` → category. */
export function idKindOf(name: string, path = ''): keyof IdPools | undefined {
  if (name === 'productId') return 'product';
  if (name === 'categoryId') return 'category';
  if (name === 'userId') return 'user';
  if (name !== 'id') return undefined;
  if (path.startsWith('/v1/products')) return 'product';
  if (path.startsWith('/v1/categories')) return 'category';
  if (path.startsWith('/v1/orders')) return 'order';
  if (path.startsWith('/v1/users')) return 'user';
  if (path.startsWith('/v1/auth/api-keys')) return 'apiKey';
  return undefined;
}

/**
 * Values that the schema accepts, generated from the schema itself (types, bounds, patterns,
 * formats, enums, required and optional properties). Lengths are kept modest: huge values are
 * one of the hostile mutations.
 */
export function valueFor(schema: JsonSchema, context: ValueContext): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => valueFor({ ...schema, anyOf: undefined, oneOf: undefined, ...alternative }, context)));
  const type = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string | undefined];
  if (type.length > 1) return fc.oneof(...type.map((single) => valueFor({ ...schema, type: single }, context)));
  switch (type[0]) {
    case 'string':
      return stringFor(schema, context);
    case 'integer':
      return fc.integer({ min: Number(schema.minimum ?? -1_000_000), max: Number(schema.maximum ?? 2_147_483_647) });
    case 'number':
      return fc.double({ min: Number(schema.minimum ?? -1e9), max: Number(schema.maximum ?? 1e9), noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = valueFor((schema.items as JsonSchema | undefined) ?? {}, context);
      const constraints = { minLength: Number(schema.minItems ?? 0), maxLength: Math.min(Number(schema.maxItems ?? 5), 5) };
      return schema.uniqueItems ? fc.uniqueArray(items, { ...constraints, selector: (value) => JSON.stringify(value) }) : fc.array(items, constraints);
    }
    case 'object':
    case undefined: {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      if (Object.keys(properties).length === 0) return fc.constant({});
      const model = Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, valueFor(property, { ...context, idKind: idKindOf(name) })]));
      return fc.record(model, { requiredKeys: (schema.required as string[] | undefined) ?? [] });
    }
    default:
      return fc.constant(null);
  }
}

function stringFor(schema: JsonSchema, context: ValueContext): fc.Arbitrary<string> {
  const minLength = Number(schema.minLength ?? 0);
  const maxLength = Math.min(Number(schema.maxLength ?? 80), 80);
  switch (schema.format) {
    case 'uuid':
      return idArbitrary(context);
    case 'email':
      return fc
        .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/), fc.uuid({ version: 4 }))
        .map(([local, unique]) => `${local.replace(/\.+$/, '').replace(/\.{2,}/g, '.')}-${unique.slice(0, 8)}@example.test`);
    case 'date-time':
      return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString());
  }
  const pattern = schema.pattern as string | undefined;
  // `\S` only asks for one visible character: plain text that has one.
  if (pattern === undefined || pattern === '\\S') {
    const generated = text(Math.max(minLength, 1), Math.max(maxLength, 1));
    return pattern === undefined && minLength === 0 ? text(0, maxLength) : generated.filter((value) => /\S/.test(value));
  }
  return fc.stringMatching(new RegExp(pattern)).filter((value) => value.length >= minLength && value.length <= Number(schema.maxLength ?? Infinity));
}
