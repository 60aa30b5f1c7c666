import fc from 'fast-check';
import type { JsonSchema, Operation } from '../openapi';
import { idKindOf, type IdPools, valueFor } from './schema-values';

/** Who sends a request: the credentials it carries. */
export type Actor = 'anonymous' | 'customer' | 'admin' | 'bad-token' | 'unsigned-token' | 'bad-api-key' | 'basic-auth';

/** Which part of a request a mutation attacks; `valid` is no mutation at all. */
export const FAMILIES = [
  'valid',
  'body-type',
  'body-text',
  'body-number',
  'body-shape',
  'content-type',
  'query',
  'cursor',
  'path',
  'header',
  'auth',
] as const;
export type Family = (typeof FAMILIES)[number];

export interface FuzzRequest {
  operationId: string;
  family: Family;
  /** What was done to the request, for the report. */
  mutation: string;
  method: string;
  /** Path and query string, already percent-encoded (hostile encodings included). */
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** How to rebuild a body too large to print (a JavaScript expression). */
  bodyRecipe?: string;
  actor: Actor;
  /**
   * `success`: valid input from someone allowed, so 2xx or a documented business outcome;
   * `refusal`: input the document rules out, so a 4xx; `no-5xx`: anything but a server error.
   */
  expect: 'success' | 'refusal' | 'no-5xx';
}

export interface FuzzContext {
  pools: IdPools;
  /** Real cursors of each list operation (several sorts for products), to tamper with. */
  cursors: Record<string, string[]>;
  /** Checks a parsed body against the operation's request schema. */
  acceptsBody: (operation: Operation, body: unknown) => boolean;
}

interface Parts {
  pathParams: Record<string, string>;
  query: [string, string][];
  headers: Record<string, string>;
  /** The JSON body as a value; `raw` replaces it by text when set. */
  body?: unknown;
  raw?: string;
  rawRecipe?: string;
  contentType?: string;
  encoding?: BufferEncoding;
}

/** Characters slipped into otherwise valid text: NUL, lone surrogates (escaped in the JSON), controls, bidi and BOM. */
const HOSTILE_CHARACTERS = ['\u0000', '\ud800', '\udfff', '\ud83d', '\u0007', '\u001b', '\u202e', '\ufeff', '\u0085', '\u2028'];
const HOSTILE_STRINGS = ['a\u0000b', '\u0000', 'a\ud800b', '\udfff', "'; select pg_sleep(5); --", '%00', '\\', '${jndi:ldap://x}', ' ', ''];
const WRONG_TYPES: unknown[] = [0, -1, 1.5, '', 'text', true, false, null, [], {}, [1, 2], { a: 1 }];
/** Number literals as JSON text: beyond int32, beyond doubles, beyond safe integers. */
const RAW_NUMBERS = ['2147483648', '-2147483649', '4294967296', '9007199254740993', '1e400', '-1e400', '1e-400', '1e21', '-0', '0.1', '100000000000000000000000000000'];
const DEEP_ARRAY = `${'['.repeat(5000)}${']'.repeat(5000)}`;
const DEEP_OBJECT = `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`;
const UNKNOWN_PROPERTIES = ['id', 'role', 'status', 'version', 'createdAt', 'stock', 'userId', 'unitPriceCents', '__proto__', 'constructor', 'x'];
const BAD_QUERY_VALUES = [
  'abc', '', '-1', '0', '1.5', '2147483648', '-2147483649', '9007199254740993', '1e400', '0x10', 'NaN', 'Infinity', 'true', 'null',
  '%00', 'a%00b', '%ED%A0%80', '%F0%9F', '%C0%AF', '%', '%ZZ', '%E2%80%AE', 'x'.repeat(5000), '%5B%5D', '%7B%7D', '+1', '%201',
];
const BAD_IDS = [
  'not-a-uuid', '%00', 'a%00b', '..%2F..%2Finternal', '%2e%2e', 'x'.repeat(5000), '%E2%80%AE', '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff', '%', '%ZZ', '%ED%A0%80', '%7Bid%7D', 'null', '1', '-1', '2147483648', '00000000000040008000000000000000',
  '%7B00000000-0000-4000-8000-000000000000%7D', '00000000-0000-4000-8000-00000000000g', '00000000-0000-4000-8000-000000000000%20',
];
const BAD_CONTENT_TYPES: [string, BufferEncoding][] = [
  ['text/plain', 'utf8'], ['application/x-www-form-urlencoded', 'utf8'], ['multipart/form-data; boundary=x', 'utf8'],
  ['application/json; charset=utf-16', 'utf16le'], ['application/json; charset=utf-16le', 'utf16le'], ['application/json; charset=latin1', 'latin1'],
  ['application/json; charset=iso-8859-1', 'latin1'], ['application/xml', 'utf8'], ['application/jsonx', 'utf8'], ['json', 'utf8'],
  ['application/json, text/plain', 'utf8'], ['application/*', 'utf8'], ['*/*', 'utf8'],
];
const BAD_HEADERS: Record<string, string[]> = {
  'if-match': ['', '*', 'W/"v1"', '"v99999999999999999999"', 'v1', '"', '"v1", "v2"', 'x'.repeat(8000), '"v-1"', '"v1e400"'],
  'if-none-match': ['', '*', 'W/"v1"', '"v99999999999999999999"', 'v1', '"', '"v1", "v2"', 'x'.repeat(8000), '"v-1"'],
  'idempotency-key': ['', 'x'.repeat(1000), 'a b', '\t', 'a,b', '%00'],
  prefer: ['wait=abc', 'wait=-1', 'wait=99999999999', 'wait=1e400', 'wait=0', 'respond-async', 'wait=1.5', 'wait=1, wait=2'],
  'x-request-id': ['x'.repeat(2000), '../../etc/passwd', '', '\u007f', 'a b'],
  accept: ['application/xml', '*/*;q=0', 'text/html'],
  'x-forwarded-for': ['not-an-ip', '1.1.1.1, 2.2.2.2, x', '::ffff:999.1.1.1'],
};

/** The JSON request schema of an operation, when it takes a body. */
export function requestSchemaOf(operation: Operation): JsonSchema | undefined {
  return operation.requestBody?.content['application/json']?.schema;
}

function validParts(operation: Operation, context: FuzzContext): fc.Arbitrary<Parts> {
  const pathParams = Object.fromEntries(
    operation.parameters.filter((parameter) => parameter.in === 'path').map((parameter) => [parameter.name, valueFor(parameter.schema ?? {}, { pools: context.pools, idKind: idKindOf(parameter.name, operation.path) })]),
  );
  const queryParameters = operation.parameters.filter((parameter) => parameter.in === 'query' && parameter.name !== 'access_token');
  const cursors = context.cursors[operation.operationId] ?? [];
  const query = Object.fromEntries(
    queryParameters
      // A cursor is opaque: only one the list issued is valid, whatever its schema allows.
      .filter((parameter) => parameter.name !== 'cursor' || cursors.length > 0)
      .map((parameter) => [
        parameter.name,
        parameter.name === 'cursor' ? fc.constantFrom(...cursors) : valueFor(parameter.schema ?? {}, { pools: context.pools, idKind: idKindOf(parameter.name) }),
      ]),
  );
  // A parameter with a default is optional to the client, whatever `required` says.
  const requiredQuery = queryParameters.filter((parameter) => parameter.required && parameter.schema?.default === undefined).map((parameter) => parameter.name);
  const headerParameters = operation.parameters.filter((parameter) => parameter.in === 'header').map((parameter) => parameter.name.toLowerCase());
  const headers: Record<string, fc.Arbitrary<string>> = {};
  if (headerParameters.includes('if-none-match')) headers['if-none-match'] = fc.constantFrom('"v1"', '"v2"', '"v0"', '*');
  if (headerParameters.includes('if-match')) headers['if-match'] = fc.constantFrom('"v1"', '"v2"', '"v0"', '*');
  if (headerParameters.includes('idempotency-key')) headers['idempotency-key'] = fc.uuid({ version: 4 });
  const schema = requestSchemaOf(operation);
  return fc.record({
    pathParams: fc.record(pathParams) as fc.Arbitrary<Record<string, string>>,
    query: fc.record(query, { requiredKeys: requiredQuery }).map((values) => Object.entries(values).map(([name, value]) => [name, encodeURIComponent(String(value))] as [string, string])),
    headers: fc.record(headers, { requiredKeys: [] }) as fc.Arbitrary<Record<string, string>>,
    body: schema === undefined ? fc.constant(undefined) : valueFor(schema, { pools: context.pools }).filter((body) => context.acceptsBody(operation, body)),
  }).map((parts) => RULES_THE_SCHEMA_CANNOT_STATE[operation.operationId]?.(parts, context) ?? parts);
}

/**
 * Rules of valid input that the document's schemas cannot state, applied to generated valid
 * input: a price range runs upwards, a cursor goes with the sort that issued it, a product's
 * currency is the store's one (USD here) and its category exists, a category's slug can be
 * made from its name (or is given).
 */
function productRules(parts: Parts, context: FuzzContext): Parts {
  const body = parts.body as Record<string, unknown> | undefined;
  if (body === undefined) return parts;
  const fixed = { ...body };
  if ('currency' in fixed) fixed.currency = 'USD';
  if (typeof fixed.categoryId === 'string' && !(context.pools.category ?? []).includes(fixed.categoryId)) fixed.categoryId = context.pools.category?.[0] ?? null;
  return { ...parts, body: fixed };
}

const RULES_THE_SCHEMA_CANNOT_STATE: Record<string, (parts: Parts, context: FuzzContext) => Parts> = {
  listProducts: (parts) => {
    let query = parts.query;
    const min = query.find(([name]) => name === 'minPrice');
    const max = query.find(([name]) => name === 'maxPrice');
    if (min !== undefined && max !== undefined && Number(min[1]) > Number(max[1])) {
      query = query.map(([name, value]) => [name, name === 'minPrice' ? max[1] : name === 'maxPrice' ? min[1] : value]);
    }
    const cursor = query.find(([name]) => name === 'cursor');
    if (cursor !== undefined) {
      const [sort] = JSON.parse(Buffer.from(decodeURIComponent(cursor[1]), 'base64url').toString()) as [string];
      query = [...query.filter(([name]) => name !== 'sort'), ['sort', encodeURIComponent(sort)]];
    }
    return { ...parts, query };
  },
  createProduct: productRules,
  replaceProduct: productRules,
  updateProduct: productRules,
  createCategory: (parts) => {
    const body = parts.body as { name: string; slug?: string };
    return body.slug === undefined && !/[a-z0-9]/i.test(body.name) ? { ...parts, body: { ...body, slug: 'fuzz-made' } } : parts;
  },
};

/** Every place inside a JSON value (as key paths), the root included. */
function placesIn(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const places = [prefix];
  if (Array.isArray(value)) value.forEach((item, index) => places.push(...placesIn(item, [...prefix, index])));
  else if (value !== null && typeof value === 'object') for (const [key, child] of Object.entries(value)) places.push(...placesIn(child, [...prefix, key]));
  return places;
}

function setAt(value: unknown, place: (string | number)[], replacement: unknown): unknown {
  if (place.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of place.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[place.at(-1)!] = replacement;
  return copy;
}

const MARK = '\u0001raw\u0001';
/** JSON text of `value` with the marked spot replaced by raw text (numbers JSON.stringify cannot write). */
function withRaw(value: unknown, place: (string | number)[], raw: string): string {
  return JSON.stringify(setAt(value, place, MARK)).replace(JSON.stringify(MARK), () => raw);
}

/** The same as a JavaScript expression, for bodies too large to print. */
function rawRecipe(value: unknown, place: (string | number)[], expression: string): string {
  return `JSON.stringify(${JSON.stringify(setAt(value, place, '@@'))}).replace('"@@"', () => ${expression})`;
}

function getAt(value: unknown, place: (string | number)[]): unknown {
  return place.reduce<unknown>((current, key) => (current as Record<string | number, unknown> | undefined)?.[key], value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const pointer = (place: (string | number)[]) => `/${place.join('/')}`;

type BodyFamily = 'body-type' | 'body-text' | 'body-number' | 'body-shape';

function bodyMutation(parts: Parts, family: BodyFamily): fc.Arbitrary<[Parts, string]> {
  const body = parts.body ?? {};
  const places = placesIn(body);
  const place = fc.constantFrom(...places);
  const objectPlaces = places.filter((candidate) => {
    const node = getAt(body, candidate);
    return node !== null && typeof node === 'object' && !Array.isArray(node);
  });
  const textPlaces = places.filter((candidate) => typeof getAt(body, candidate) === 'string');
  switch (family) {
    case 'body-type':
      return fc.tuple(place, fc.constantFrom(...WRONG_TYPES)).map(([at, value]) => [{ ...parts, body: setAt(body, at, value) }, `${pointer(at)} = ${JSON.stringify(value)}`]);
    case 'body-number':
      return fc.tuple(place, fc.constantFrom(...RAW_NUMBERS)).map(([at, raw]) => [{ ...parts, raw: withRaw(body, at, raw) }, `${pointer(at)} = ${raw}`]);
    case 'body-text': {
      const replaced = fc.tuple(place, fc.constantFrom(...HOSTILE_STRINGS)).map(([at, value]): [Parts, string] => [{ ...parts, body: setAt(body, at, value) }, `${pointer(at)} = ${JSON.stringify(value)}`]);
      if (textPlaces.length === 0) return replaced;
      const injected = fc.tuple(fc.constantFrom(...textPlaces), fc.constantFrom(...HOSTILE_CHARACTERS), fc.nat()).map(([at, character, position]): [Parts, string] => {
        const text = getAt(body, at) as string;
        const cut = position % (text.length + 1);
        const value = `${text.slice(0, cut)}${character}${text.slice(cut)}`;
        return [{ ...parts, body: setAt(body, at, value) }, `${pointer(at)} = ${JSON.stringify(value)}`];
      });
      const ids = textPlaces.filter((at) => UUID.test(getAt(body, at) as string));
      // Ids are case-insensitive: the same id in capitals must name the same object (or be refused), never break.
      if (ids.length === 0) return fc.oneof({ weight: 3, arbitrary: injected }, { weight: 1, arbitrary: replaced });
      const capitalised = fc.constantFrom(...ids).map((at): [Parts, string] => {
        const value = (getAt(body, at) as string).toUpperCase();
        return [{ ...parts, body: setAt(body, at, value) }, `${pointer(at)} = ${JSON.stringify(value)}`];
      });
      return fc.oneof({ weight: 3, arbitrary: injected }, { weight: 1, arbitrary: replaced }, { weight: 1, arbitrary: capitalised });
    }
    case 'body-shape':
      break;
  }
  const mutations: fc.Arbitrary<[Parts, string]>[] = [
    fc.tuple(
      place,
      fc.constantFrom(
        ['JSON.stringify("x".repeat(200000))', JSON.stringify('x'.repeat(200_000))] as const,
        ['"[".repeat(5000) + "]".repeat(5000)', DEEP_ARRAY] as const,
        ['\'{"a":\'.repeat(3000) + "1" + "}".repeat(3000)', DEEP_OBJECT] as const,
      ),
    ).map(([at, [expression, raw]]) => [{ ...parts, raw: withRaw(body, at, raw), rawRecipe: rawRecipe(body, at, expression) }, `${pointer(at)} = ${expression}`]),
    fc.tuple(fc.constantFrom(...UNKNOWN_PROPERTIES), fc.constantFrom(...(objectPlaces.length > 0 ? objectPlaces : [[]]))).map(([name, at]): [Parts, string] => {
      const marked = setAt(body, at, { ...(getAt(body, at) as Record<string, unknown>), '\u0002': 0 });
      const value = name === '__proto__' ? '{"role":"admin"}' : '"admin"';
      return [{ ...parts, raw: JSON.stringify(marked).replace(`${JSON.stringify('\u0002')}:0`, () => `${JSON.stringify(name)}:${value}`) }, `unknown property ${pointer([...at, name])}`];
    }),
    fc.constantFrom('null', '[]', '"x"', '1', '{', '', '{"a":1}}', '\ufeff{}', 'nul', '{"a":"\\ud800"}', '{"a":"\\u0000"}', "{'a':1}", '{"a":1,}').map((raw): [Parts, string] => [{ ...parts, raw }, `body ${JSON.stringify(raw)}`]),
    fc.constant<[Parts, string]>([{ ...parts, raw: JSON.stringify({ padding: 'x'.repeat(1_100_000) }), rawRecipe: 'JSON.stringify({ padding: "x".repeat(1100000) })' }, 'a body over 1 MiB']),
  ];
  const properties = places.filter((at) => at.length > 0 && typeof at.at(-1) === 'string');
  if (properties.length > 0) {
    mutations.push(
      fc.constantFrom(...properties).map((at): [Parts, string] => {
        const copy = structuredClone(body) as Record<string, unknown>;
        delete (getAt(copy, at.slice(0, -1)) as Record<string, unknown>)[at.at(-1) as string];
        return [{ ...parts, body: copy }, `without ${pointer(at)}`];
      }),
    );
  }
  const topLevel = places.filter((at) => at.length === 1);
  if (topLevel.length > 0) {
    mutations.push(
      fc.tuple(fc.constantFrom(...topLevel), fc.constantFrom(...WRONG_TYPES, ...HOSTILE_STRINGS)).map(([at, first]): [Parts, string] => [
        { ...parts, raw: `{${JSON.stringify(at[0])}:${JSON.stringify(first)},${JSON.stringify(body).slice(1)}` },
        `duplicate key ${pointer(at)} (first ${JSON.stringify(first)})`,
      ]),
    );
  }
  return fc.oneof(...mutations);
}

function cursorMutation(parts: Parts, operation: Operation, context: FuzzContext): fc.Arbitrary<[Parts, string]> {
  const sorted = operation.parameters.some((parameter) => parameter.in === 'query' && parameter.name === 'sort');
  return tamperedCursor(context.cursors[operation.operationId] ?? []).map((cursor): [Parts, string] => {
    // With the sort that issued it, a tampered cursor gets past the shape check to the query itself.
    const others = parts.query.filter(([name]) => name !== 'cursor' && !(sorted && cursor.sort !== undefined && name === 'sort'));
    const sort: [string, string][] = sorted && cursor.sort !== undefined ? [['sort', encodeURIComponent(cursor.sort)]] : [];
    return [{ ...parts, query: [...others, ...sort, ['cursor', cursor.value]] }, `cursor ${cursor.label}`];
  });
}

function queryMutation(parts: Parts, operation: Operation): fc.Arbitrary<[Parts, string]> {
  const names = operation.parameters.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name);
  const replace = (name: string, value: string): [string, string][] => [...parts.query.filter(([existing]) => existing !== name), [name, value]];
  const mutations: fc.Arbitrary<[Parts, string]>[] = [
    fc.tuple(fc.constantFrom(...names), fc.constantFrom(...BAD_QUERY_VALUES)).map(([name, value]) => [{ ...parts, query: replace(name, value) }, `${name}=${value.slice(0, 40)}`]),
    fc.tuple(fc.constantFrom(...names), fc.constantFrom(...BAD_QUERY_VALUES)).map(([name, value]) => [{ ...parts, query: [...parts.query, [name, '1'], [name, value]] }, `${name} twice`]),
    fc.constantFrom('foo=bar', '%00=1', 'limit[]=1', 'limit[a]=1', '__proto__[x]=1', 'constructor=1').map((pair): [Parts, string] => {
      const [name, value] = pair.split('=') as [string, string];
      return [{ ...parts, query: [...parts.query, [name, value]] }, `extra parameter ${pair}`];
    }),
  ];
  return fc.oneof(...mutations);
}

/** A real cursor decoded, one element changed to something a cursor never holds, encoded again. */
function tamperedCursor(cursors: string[]): fc.Arbitrary<{ value: string; label: string; sort?: string }> {
  const encode = (text: string) => Buffer.from(text).toString('base64url');
  const random = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ value: Buffer.from(bytes).toString('base64url'), label: 'random bytes' }));
  const garbage = fc.constantFrom('not base64!', '====', 'e30', encode('[]'), encode('{}'), encode('null'), encode('"x"'), encode('[1]'), `${'A'.repeat(3000)}`).map((value) => ({ value: encodeURIComponent(value), label: `raw ${value.slice(0, 20)}` }));
  if (cursors.length === 0) return fc.oneof(random, garbage);
  const replacements = [
    ...RAW_NUMBERS, '"0000-01-01T00:00:00.000Z"', '"+275760-09-13T00:00:00.000Z"', '"-000001-01-01T00:00:00.000Z"', '"2026-02-30T00:00:00.000Z"', '"not a date"',
    '"a\\u0000b"', '"a\\ud800b"', '"not-a-uuid"', '"00000000-0000-4000-8000-000000000000"', 'null', 'true', '{}', '[]', `"${'x'.repeat(2000)}"`, '-1', '"price"', '"-name"',
  ];
  const tampered = fc.tuple(fc.constantFrom(...cursors), fc.nat(), fc.constantFrom(...replacements)).map(([cursor, index, raw]) => {
    const elements = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    const at = index % elements.length;
    const text = `[${elements.map((element, position) => (position === at ? raw : JSON.stringify(element))).join(',')}]`;
    return { value: encode(text), label: `${text.slice(0, 80)}`, ...(typeof elements[0] === 'string' ? { sort: elements[0] } : {}) };
  });
  const reshaped = fc.tuple(fc.constantFrom(...cursors), fc.boolean()).map(([cursor, longer]) => {
    const elements = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    const text = JSON.stringify(longer ? [...elements, 1] : elements.slice(0, -1));
    return { value: encode(text), label: text.slice(0, 80) };
  });
  return fc.oneof({ weight: 4, arbitrary: tampered }, reshaped, random, garbage);
}

function pathMutation(parts: Parts, context: FuzzContext): fc.Arbitrary<[Parts, string]> {
  const names = Object.keys(parts.pathParams);
  const pooled = Object.values(context.pools).flat();
  const variants = [...BAD_IDS, ...pooled.slice(0, 3).map((id) => id.toUpperCase()), ...pooled.slice(0, 2).map((id) => `${id}%00`), ...pooled.slice(0, 2).map((id) => ` ${id}`.replace(' ', '%20'))];
  return fc.tuple(fc.constantFrom(...names), fc.constantFrom(...variants)).map(([name, value]) => [{ ...parts, pathParams: { ...parts.pathParams, [name]: `\u0001${value}` } }, `{${name}} = ${value.slice(0, 60)}`]);
}

function headerMutation(parts: Parts): fc.Arbitrary<[Parts, string]> {
  return fc.constantFrom(...Object.entries(BAD_HEADERS)).chain(([name, values]) =>
    fc.constantFrom(...values).map((value): [Parts, string] => [{ ...parts, headers: { ...parts.headers, [name]: value } }, `${name}: ${JSON.stringify(value.slice(0, 40))}`]),
  );
}

function contentTypeMutation(parts: Parts): fc.Arbitrary<[Parts, string]> {
  return fc.constantFrom(...BAD_CONTENT_TYPES).map(([contentType, encoding]): [Parts, string] => [{ ...parts, contentType, encoding }, `content-type: ${contentType}`]);
}

const ALL_ACTORS: Actor[] = ['anonymous', 'customer', 'admin', 'bad-token', 'unsigned-token', 'bad-api-key', 'basic-auth'];

/**
 * The requests of one family for one operation. Valid ones come from an actor allowed to call
 * it (the admin, who has every scope; nobody for anonymous operations); hostile ones from any.
 */
export function requestsFor(operation: Operation, family: Family, context: FuzzContext): fc.Arbitrary<FuzzRequest> | undefined {
  const hasBody = requestSchemaOf(operation) !== undefined;
  const hasQuery = operation.parameters.some((parameter) => parameter.in === 'query' && parameter.name !== 'access_token');
  const hasPath = operation.parameters.some((parameter) => parameter.in === 'path');
  const hasCursor = operation.parameters.some((parameter) => parameter.in === 'query' && parameter.name === 'cursor');
  const takesBodyAnyway = operation.method === 'POST' && !hasBody;
  const bodyFamily = family.startsWith('body-');
  // A POST without a documented body still gets one (unknown properties must be refused), once per run.
  if (bodyFamily && !hasBody && !(takesBodyAnyway && family === 'body-shape')) return undefined;
  if (family === 'content-type' && !hasBody) return undefined;
  if (family === 'query' && !hasQuery) return undefined;
  if (family === 'cursor' && !hasCursor) return undefined;
  if (family === 'path' && !hasPath) return undefined;
  const validActor: Actor = operation.anonymous ? 'anonymous' : 'admin';
  const actor = family === 'valid' ? fc.constant(validActor) : family === 'auth' ? fc.constantFrom(...ALL_ACTORS) : fc.constantFrom(...ALL_ACTORS.slice(0, 3));

  return fc.tuple(validParts(operation, context), actor).chain(([parts, who]) => {
    let mutated: fc.Arbitrary<[Parts, string]>;
    switch (family) {
      case 'valid':
      case 'auth':
        mutated = fc.constant([parts, family === 'auth' ? `as ${who}` : 'valid']);
        break;
      case 'body-type':
      case 'body-text':
      case 'body-number':
      case 'body-shape':
        mutated = hasBody
          ? bodyMutation(parts, family)
          : fc.constantFrom<[Parts, string]>([{ ...parts, body: { status: 'confirmed' } }, 'an unexpected body property'], [{ ...parts, raw: '{"reason":"a\\u0000b"}' }, 'an unexpected body with NUL']);
        break;
      case 'cursor':
        mutated = cursorMutation(parts, operation, context);
        break;
      case 'content-type':
        mutated = contentTypeMutation(parts);
        break;
      case 'query':
        mutated = queryMutation(parts, operation);
        break;
      case 'path':
        mutated = pathMutation(parts, context);
        break;
      case 'header':
        mutated = headerMutation(parts);
        break;
    }
    return mutated.map(([final, mutation]) => build(operation, family, final, mutation, who, context));
  });
}

function build(operation: Operation, family: Family, parts: Parts, mutation: string, actor: Actor, context: FuzzContext): FuzzRequest {
  const path = operation.path.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    const value = parts.pathParams[name] ?? '';
    // Mutated ids are already encoded (marked by \u0001): they must reach the server as they are.
    return value.startsWith('\u0001') ? value.slice(1) : encodeURIComponent(value);
  });
  const query = parts.query.map(([name, value]) => `${name}=${value}`).join('&');
  const headers: Record<string, string> = { ...parts.headers };
  let body: Buffer | undefined;
  const text = parts.raw ?? (parts.body === undefined ? undefined : JSON.stringify(parts.body));
  if (text !== undefined) {
    body = Buffer.from(text, parts.encoding ?? 'utf8');
    headers['content-type'] = parts.contentType ?? 'application/json';
  }
  let expect: FuzzRequest['expect'] = 'no-5xx';
  const invalidBody = () => {
    if (text === undefined) return false;
    try {
      return !context.acceptsBody(operation, JSON.parse(text));
    } catch {
      return true;
    }
  };
  if (family === 'valid') expect = 'success';
  else if (family === 'content-type') expect = 'refusal';
  else if (family.startsWith('body-')) expect = requestSchemaOf(operation) === undefined || invalidBody() ? 'refusal' : 'no-5xx';
  // Proxied routes refuse bad credentials even where anonymous calls are welcome; the gateway's own do not look.
  else if (family === 'auth' && actor !== 'admin' && actor !== 'customer' && !(actor === 'anonymous' && operation.anonymous) && !operation.tags.includes('gateway')) expect = 'refusal';
  return {
    operationId: operation.operationId,
    family,
    mutation,
    method: operation.method,
    target: query === '' ? path : `${path}?${query}`,
    headers,
    ...(body === undefined ? {} : { body }),
    ...(parts.rawRecipe === undefined ? {} : { bodyRecipe: parts.rawRecipe }),
    actor,
    expect,
  };
}
