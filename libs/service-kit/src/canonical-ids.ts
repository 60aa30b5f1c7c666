import { UUID_PATTERN } from './typebox-formats';

/** The parts of a JSON schema that lead to a uuid string (TypeBox's shapes: objects, arrays, tuples, unions). */
interface SchemaNode {
  type?: unknown;
  format?: unknown;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: unknown;
  items?: SchemaNode | SchemaNode[];
  prefixItems?: SchemaNode[];
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
}

type Canonicaliser = (value: unknown) => unknown;

function isUuidString(node: SchemaNode): boolean {
  return node.format === 'uuid';
}

/**
 * A function that rewrites, in place, every value the schema declares a uuid into its canonical
 * lowercase form, or null when the schema holds no uuid. Ids are compared as strings all over
 * (duplicate detection, cache keys, idempotency fingerprints) while PostgreSQL compares them
 * case-blind: `A…` and `a…` must be one id before any code sees them.
 */
export function canonicaliserOf(schema: unknown): Canonicaliser | null {
  if (schema === null || typeof schema !== 'object') return null;
  const node = schema as SchemaNode;
  if (isUuidString(node)) return (value) => (typeof value === 'string' && UUID_PATTERN.test(value) ? value.toLowerCase() : value);

  const branches = [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])].map(canonicaliserOf).filter((branch) => branch !== null);
  const properties = Object.entries(node.properties ?? {})
    .map(([key, child]) => [key, canonicaliserOf(child)] as const)
    .filter((entry): entry is readonly [string, Canonicaliser] => entry[1] !== null);
  const additional = canonicaliserOf(node.additionalProperties);
  const items = Array.isArray(node.items) ? null : canonicaliserOf(node.items);
  const tuple = (Array.isArray(node.items) ? node.items : (node.prefixItems ?? [])).map(canonicaliserOf);
  if (branches.length === 0 && properties.length === 0 && additional === null && items === null && tuple.every((entry) => entry === null)) return null;

  return (value) => {
    // A uuid in one branch of a union: the value was valid, so whichever branch it matched, a
    // uuid-shaped string in it is an id (the other branches here are null or other objects).
    for (const branch of branches) value = branch(value);
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index += 1) {
        const each = tuple[index] ?? items;
        if (each) value[index] = each(value[index]);
      }
    } else if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      for (const [key, canonicalise] of properties) if (key in record) record[key] = canonicalise(record[key]);
      if (additional) for (const key of Object.keys(record)) if (!(node.properties && key in node.properties)) record[key] = additional(record[key]);
    }
    return value;
  };
}
