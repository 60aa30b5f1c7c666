import { randomUUID } from 'node:crypto';
import { type Actors, type ApiClient, type ApiRequest, type ApiResponse, bearer, createCategory, createProduct, newSku } from './client';

/**
 * One request to one operation and what must come back. `request` runs just before the call, so
 * a case can make the object it acts on (a product to delete, a token to rotate) without
 * depending on the cases before it.
 */
export interface ContractCase {
  name: string;
  request: () => Promise<ApiRequest> | ApiRequest;
  status: number;
  /** The problem `code` a failure must carry. */
  code?: string;
  /** Further checks on the answer; each returned string is a failure. */
  expect?: (response: ApiResponse) => Promise<string[]> | string[];
}

export interface ContractContext {
  client: ApiClient;
  actors: Actors;
  /** A product and a category that stay for the whole run (read, ordered, referred to). */
  product: { id: string };
  category: { id: string };
}

const ONE_AND_A_BIT_MIB = 'x'.repeat(1024 * 1024 + 1024);
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

const header = (name: string, wanted: RegExp | ((value: string | null) => boolean)) => (response: ApiResponse) => {
  const value = response.headers.get(name);
  const ok = typeof wanted === 'function' ? wanted(value) : value !== null && wanted.test(value);
  return ok ? [] : [`header ${name}: ${JSON.stringify(value)} does not match ${String(wanted)}`];
};
const all =
  (...checks: ((response: ApiResponse) => Promise<string[]> | string[])[]) =>
  async (response: ApiResponse) =>
    (await Promise.all(checks.map((check) => check(response)))).flat();
const field = (path: string, wanted: unknown) => (response: ApiResponse) => {
  const value = path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], response.json);
  return JSON.stringify(value) === JSON.stringify(wanted) ? [] : [`${path} is ${JSON.stringify(value)}, expected ${JSON.stringify(wanted)}`];
};

/** Where `Location` points must exist: the created object is readable at once. */
const locationResolves = (client: ApiClient, token: string) => async (response: ApiResponse) => {
  const location = response.headers.get('location');
  if (location === null) return ['no Location header'];
  const read = await client.send({ method: 'GET', path: new URL(location, client.baseUrl).pathname, headers: bearer(token) });
  return read.status === 200 ? [] : [`GET ${location} answered ${read.status}`];
};

/** Bodies that are not JSON, or too large, for every operation that takes one. */
export function bodyFramingCases(method: string, path: string, headers: Record<string, string>): ContractCase[] {
  return [
    {
      name: 'a text/plain body is refused with 415',
      request: () => ({ method, path, headers: { ...headers, 'content-type': 'text/plain' }, body: 'hello' }),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'a body over 1 MiB is refused with 413',
      request: () => ({ method, path, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: ONE_AND_A_BIT_MIB }) }),
      status: 413,
      code: 'REQUEST_BODY_TOO_LARGE',
    },
  ];
}

/**
 * The contract cases of every public operation, keyed by operationId. A new operation in the
 * OpenAPI document without an entry here fails the suite.
 */
export function contractCases({ client, actors, product, category }: ContractContext): Record<string, ContractCase[]> {
  const admin = bearer(actors.admin.token);
  const customer = bearer(actors.customer.token);
  const other = bearer(actors.other.token);
  const apiKey = { 'x-api-key': actors.apiKey.key };
  const bogusToken = { authorization: 'Bearer not-a-token' };
  const challenged = header('www-authenticate', /^[A-Za-z][\w-]* /);
  const etagOf = async (path: string) => (await client.send({ method: 'GET', path })).headers.get('etag') ?? '"none"';
  const placeOrder = () =>
    client.expectOk<{ id: string }>({ method: 'POST', path: '/v1/orders', headers: { ...customer, prefer: 'wait=10' }, body: { items: [{ productId: product.id, quantity: 1 }] } });
  const freshLogin = () =>
    client.expectOk<{ refreshToken: string }>({ method: 'POST', path: '/v1/auth/login', body: { email: actors.customer.email, password: actors.customer.password } });

  return {
    gatewayHealth: [{ name: 'alive', request: () => ({ method: 'GET', path: '/health' }), status: 200 }],
    gatewayReadiness: [{ name: 'ready', request: () => ({ method: 'GET', path: '/health/ready' }), status: 200 }],
    getOpenApiDocument: [
      { name: 'the document', request: () => ({ method: 'GET', path: '/docs/openapi.json' }), status: 200, expect: field('openapi', '3.1.0') },
    ],

    register: [
      {
        name: 'a new account',
        request: () => ({ method: 'POST', path: '/v1/auth/register', body: { email: `new-${randomUUID()}@example.test`, password: 'correct horse battery', name: 'New' } }),
        status: 201,
        expect: field('role', 'customer'),
      },
      {
        name: 'an email already registered',
        request: () => ({ method: 'POST', path: '/v1/auth/register', body: { email: actors.customer.email, password: 'correct horse battery', name: 'Again' } }),
        status: 409,
        code: 'AUTH_EMAIL_TAKEN',
      },
      {
        name: 'a password that is too short',
        request: () => ({ method: 'POST', path: '/v1/auth/register', body: { email: `weak-${randomUUID()}@example.test`, password: 'short', name: 'Weak' } }),
        status: 400,
        code: 'REQUEST_VALIDATION_FAILED',
      },
      {
        name: 'a bad token is refused even where anonymous calls are welcome',
        request: () => ({ method: 'POST', path: '/v1/auth/register', headers: bogusToken, body: { email: `t-${randomUUID()}@example.test`, password: 'correct horse battery', name: 'T' } }),
        status: 401,
        expect: challenged,
      },
      ...bodyFramingCases('POST', '/v1/auth/register', {}),
    ],
    login: [
      { name: 'the right password', request: () => ({ method: 'POST', path: '/v1/auth/login', body: { email: actors.customer.email, password: actors.customer.password } }), status: 200, expect: field('tokenType', 'Bearer') },
      { name: 'a wrong password', request: () => ({ method: 'POST', path: '/v1/auth/login', body: { email: actors.customer.email, password: 'wrong password' } }), status: 401, code: 'AUTH_INVALID_CREDENTIALS' },
      { name: 'an unknown email, alike', request: () => ({ method: 'POST', path: '/v1/auth/login', body: { email: `nobody-${randomUUID()}@example.test`, password: 'wrong password' } }), status: 401, code: 'AUTH_INVALID_CREDENTIALS' },
      { name: 'no password', request: () => ({ method: 'POST', path: '/v1/auth/login', body: { email: actors.customer.email } }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'charset=utf-16 is not JSON as the contract knows it', request: () => ({ method: 'POST', path: '/v1/auth/login', headers: { 'content-type': 'application/json; charset=utf-16' }, body: JSON.stringify({ email: 'a@b.c', password: 'x' }) }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    ],
    refreshTokens: [
      { name: 'a fresh refresh token', request: async () => ({ method: 'POST', path: '/v1/auth/refresh', body: { refreshToken: (await freshLogin()).refreshToken } }), status: 200 },
      {
        name: 'a rotated refresh token, presented again',
        request: async () => {
          const { refreshToken } = await freshLogin();
          await client.expectOk({ method: 'POST', path: '/v1/auth/refresh', body: { refreshToken } });
          return { method: 'POST', path: '/v1/auth/refresh', body: { refreshToken } };
        },
        status: 401,
        code: 'AUTH_INVALID_REFRESH_TOKEN',
      },
      { name: 'an unknown property', request: () => ({ method: 'POST', path: '/v1/auth/refresh', body: { refreshToken: 'x', extra: 1 } }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
    ],
    logout: [
      { name: 'signs out', request: async () => ({ method: 'POST', path: '/v1/auth/logout', body: { refreshToken: (await freshLogin()).refreshToken } }), status: 204 },
      { name: 'no refresh token', request: () => ({ method: 'POST', path: '/v1/auth/logout', body: {} }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
    ],
    getMe: [
      { name: 'the signed-in user', request: () => ({ method: 'GET', path: '/v1/auth/me', headers: customer }), status: 200, expect: field('email', actors.customer.email) },
      { name: 'no credentials', request: () => ({ method: 'GET', path: '/v1/auth/me' }), status: 401, code: 'AUTH_TOKEN_MISSING', expect: challenged },
      { name: 'a bad token', request: () => ({ method: 'GET', path: '/v1/auth/me', headers: bogusToken }), status: 401, code: 'AUTH_TOKEN_INVALID', expect: challenged },
    ],
    createApiKey: [
      {
        name: 'an admin creates a key',
        request: () => ({ method: 'POST', path: '/v1/auth/api-keys', headers: admin, body: { name: 'contract', scopes: ['catalog:write'] } }),
        status: 201,
        expect: (response) => (typeof (response.json as { key?: unknown }).key === 'string' ? [] : ['no key in the answer']),
      },
      { name: 'a customer may not', request: () => ({ method: 'POST', path: '/v1/auth/api-keys', headers: customer, body: { name: 'mine', scopes: [] } }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
      { name: 'an unknown scope', request: () => ({ method: 'POST', path: '/v1/auth/api-keys', headers: admin, body: { name: 'bad', scopes: ['root'] } }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'no credentials', request: () => ({ method: 'POST', path: '/v1/auth/api-keys', body: { name: 'anon', scopes: [] } }), status: 401, expect: challenged },
      ...bodyFramingCases('POST', '/v1/auth/api-keys', admin),
    ],
    listApiKeys: [
      { name: 'an admin lists keys', request: () => ({ method: 'GET', path: '/v1/auth/api-keys?limit=5', headers: admin }), status: 200 },
      { name: 'with an API key', request: () => ({ method: 'GET', path: '/v1/auth/api-keys', headers: apiKey }), status: 200 },
      { name: 'a bad API key', request: () => ({ method: 'GET', path: '/v1/auth/api-keys', headers: { 'x-api-key': 'shop_not-a-key' } }), status: 401, expect: challenged },
      { name: 'a customer may not', request: () => ({ method: 'GET', path: '/v1/auth/api-keys', headers: customer }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
      { name: 'limit out of range', request: () => ({ method: 'GET', path: '/v1/auth/api-keys?limit=101', headers: admin }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
    ],
    revokeApiKey: [
      {
        name: 'an admin revokes a key',
        request: async () => {
          const key = await client.expectOk<{ id: string }>({ method: 'POST', path: '/v1/auth/api-keys', headers: admin, body: { name: 'to revoke', scopes: [] } });
          return { method: 'DELETE', path: `/v1/auth/api-keys/${key.id}`, headers: admin };
        },
        status: 204,
      },
      { name: 'an unknown key', request: () => ({ method: 'DELETE', path: `/v1/auth/api-keys/${UNKNOWN_ID}`, headers: admin }), status: 404, code: 'AUTH_API_KEY_NOT_FOUND' },
      { name: 'a malformed id', request: () => ({ method: 'DELETE', path: '/v1/auth/api-keys/not-a-uuid', headers: admin }), status: 404 },
      { name: 'a customer may not', request: () => ({ method: 'DELETE', path: `/v1/auth/api-keys/${actors.apiKey.id}`, headers: customer }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
    ],
    listUsers: [
      { name: 'an admin lists users', request: () => ({ method: 'GET', path: '/v1/users?limit=3', headers: admin }), status: 200 },
      { name: 'a customer may not', request: () => ({ method: 'GET', path: '/v1/users', headers: customer }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
      { name: 'limit 0', request: () => ({ method: 'GET', path: '/v1/users?limit=0', headers: admin }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'a tampered cursor', request: () => ({ method: 'GET', path: '/v1/users?cursor=bm90LWEtY3Vyc29y', headers: admin }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
    ],
    updateUser: [
      { name: 'an admin sets a role', request: () => ({ method: 'PATCH', path: `/v1/users/${actors.other.id}`, headers: admin, body: { role: 'customer' } }), status: 200, expect: field('role', 'customer') },
      { name: 'an empty patch', request: () => ({ method: 'PATCH', path: `/v1/users/${actors.other.id}`, headers: admin, body: {} }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'an unknown user', request: () => ({ method: 'PATCH', path: `/v1/users/${UNKNOWN_ID}`, headers: admin, body: { role: 'customer' } }), status: 404, code: 'AUTH_USER_NOT_FOUND' },
      { name: 'a role that does not exist', request: () => ({ method: 'PATCH', path: `/v1/users/${actors.other.id}`, headers: admin, body: { role: 'root' } }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'a customer may not', request: () => ({ method: 'PATCH', path: `/v1/users/${actors.customer.id}`, headers: customer, body: { role: 'admin' } }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
    ],
    getJwks: [
      { name: 'the public keys', request: () => ({ method: 'GET', path: '/.well-known/jwks.json' }), status: 200 },
      { name: 'HEAD', request: () => ({ method: 'HEAD', path: '/.well-known/jwks.json' }), status: 200 },
    ],

    listProducts: [
      { name: 'the first page', request: () => ({ method: 'GET', path: '/v1/products?limit=2' }), status: 200, expect: header('link', /rel="next"/) },
      { name: 'a search, sorted by price', request: () => ({ method: 'GET', path: '/v1/products?q=mug&sort=price&minPrice=0&maxPrice=100000&inStock=true' }), status: 200 },
      { name: 'HEAD', request: () => ({ method: 'HEAD', path: '/v1/products?limit=2' }), status: 200 },
      { name: 'limit 0', request: () => ({ method: 'GET', path: '/v1/products?limit=0' }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'an unknown sort', request: () => ({ method: 'GET', path: '/v1/products?sort=stock' }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'a price beyond any column', request: () => ({ method: 'GET', path: '/v1/products?minPrice=2147483648' }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'a cursor that is not one', request: () => ({ method: 'GET', path: '/v1/products?cursor=bm90LWEtY3Vyc29y' }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
    ],
    createProduct: [
      {
        name: 'an admin creates a product',
        request: () => ({ method: 'POST', path: '/v1/products', headers: admin, body: { sku: newSku(), name: 'Created', priceCents: 100, stock: 1, categoryId: category.id } }),
        status: 201,
        expect: all(header('location', /^\/v1\/products\/[0-9a-f-]{36}$/), locationResolves(client, actors.admin.token), field('version', 1)),
      },
      { name: 'with an API key', request: () => ({ method: 'POST', path: '/v1/products', headers: apiKey, body: { sku: newSku(), name: 'By key', priceCents: 100, stock: 1 } }), status: 201 },
      {
        name: 'a SKU taken (in another letter case)',
        request: async () => {
          const sku = newSku();
          await createProduct(client, actors.admin.token, { sku });
          return { method: 'POST', path: '/v1/products', headers: admin, body: { sku: sku.toLowerCase(), name: 'Twin', priceCents: 1, stock: 1 } };
        },
        status: 409,
        code: 'CATALOG_SKU_TAKEN',
      },
      { name: 'a client may not set the id', request: () => ({ method: 'POST', path: '/v1/products', headers: admin, body: { id: randomUUID(), sku: newSku(), name: 'x', priceCents: 1, stock: 1 } }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'a customer may not', request: () => ({ method: 'POST', path: '/v1/products', headers: customer, body: { sku: newSku(), name: 'x', priceCents: 1, stock: 1 } }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
      { name: 'no credentials', request: () => ({ method: 'POST', path: '/v1/products', body: { sku: newSku(), name: 'x', priceCents: 1, stock: 1 } }), status: 401, code: 'AUTH_TOKEN_MISSING', expect: challenged },
      ...bodyFramingCases('POST', '/v1/products', admin),
    ],
    getProduct: [
      {
        name: 'a product, with its ETag',
        request: () => ({ method: 'GET', path: `/v1/products/${product.id}` }),
        status: 200,
        expect: all(header('etag', /^"[^"]+"$/), header('cache-control', /\bno-cache\b/)),
      },
      {
        name: 'If-None-Match with the current ETag',
        request: async () => ({ method: 'GET', path: `/v1/products/${product.id}`, headers: { 'if-none-match': await etagOf(`/v1/products/${product.id}`) } }),
        status: 304,
        expect: header('etag', /^"[^"]+"$/),
      },
      { name: 'If-None-Match with an old ETag', request: () => ({ method: 'GET', path: `/v1/products/${product.id}`, headers: { 'if-none-match': '"v0"' } }), status: 200 },
      { name: 'HEAD', request: () => ({ method: 'HEAD', path: `/v1/products/${product.id}` }), status: 200, expect: header('etag', /^"[^"]+"$/) },
      { name: 'an unknown product', request: () => ({ method: 'GET', path: `/v1/products/${UNKNOWN_ID}` }), status: 404, code: 'CATALOG_PRODUCT_NOT_FOUND' },
      { name: 'a malformed id', request: () => ({ method: 'GET', path: '/v1/products/not-a-uuid' }), status: 404 },
    ],
    replaceProduct: [
      {
        name: 'a full replacement, with the current ETag',
        request: async () => {
          const created = await createProduct(client, actors.admin.token);
          const etag = await etagOf(`/v1/products/${created.id}`);
          return { method: 'PUT', path: `/v1/products/${created.id}`, headers: { ...admin, 'if-match': etag }, body: { sku: newSku(), name: 'Replaced', priceCents: 999, stock: 3 } };
        },
        status: 200,
        expect: all(field('name', 'Replaced'), field('description', null), header('etag', /^"[^"]+"$/)),
      },
      {
        name: 'a stale If-Match',
        request: async () => {
          const created = await createProduct(client, actors.admin.token);
          return { method: 'PUT', path: `/v1/products/${created.id}`, headers: { ...admin, 'if-match': '"v0"' }, body: { sku: newSku(), name: 'Late', priceCents: 1, stock: 1 } };
        },
        status: 412,
        code: 'PRECONDITION_FAILED',
      },
      { name: 'an unknown product', request: () => ({ method: 'PUT', path: `/v1/products/${UNKNOWN_ID}`, headers: admin, body: { sku: newSku(), name: 'x', priceCents: 1, stock: 1 } }), status: 404, code: 'CATALOG_PRODUCT_NOT_FOUND' },
      { name: 'a required field missing', request: () => ({ method: 'PUT', path: `/v1/products/${product.id}`, headers: admin, body: { name: 'x' } }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'a customer may not', request: () => ({ method: 'PUT', path: `/v1/products/${product.id}`, headers: customer, body: { sku: newSku(), name: 'x', priceCents: 1, stock: 1 } }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
      ...bodyFramingCases('PUT', `/v1/products/${product.id}`, admin),
    ],
    updateProduct: [
      {
        name: 'a JSON merge patch (application/merge-patch+json)',
        request: async () => {
          const created = await createProduct(client, actors.admin.token);
          return { method: 'PATCH', path: `/v1/products/${created.id}`, headers: { ...admin, 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ description: null, priceCents: 777 }) };
        },
        status: 200,
        expect: all(field('description', null), field('priceCents', 777)),
      },
      {
        name: 'with the current If-Match',
        request: async () => {
          const created = await createProduct(client, actors.admin.token);
          return { method: 'PATCH', path: `/v1/products/${created.id}`, headers: { ...admin, 'if-match': await etagOf(`/v1/products/${created.id}`) }, body: { name: 'Renamed' } };
        },
        status: 200,
        expect: field('name', 'Renamed'),
      },
      {
        name: 'a stale If-Match',
        request: async () => {
          const created = await createProduct(client, actors.admin.token);
          const etag = await etagOf(`/v1/products/${created.id}`);
          await client.expectOk({ method: 'PATCH', path: `/v1/products/${created.id}`, headers: admin, body: { name: 'Someone else was first' } });
          return { method: 'PATCH', path: `/v1/products/${created.id}`, headers: { ...admin, 'if-match': etag }, body: { name: 'Too late' } };
        },
        status: 412,
        code: 'PRECONDITION_FAILED',
      },
      { name: 'a client may not set the version', request: () => ({ method: 'PATCH', path: `/v1/products/${product.id}`, headers: admin, body: { version: 99 } }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'an unknown product', request: () => ({ method: 'PATCH', path: `/v1/products/${UNKNOWN_ID}`, headers: admin, body: { name: 'x' } }), status: 404, code: 'CATALOG_PRODUCT_NOT_FOUND' },
      { name: 'a customer may not', request: () => ({ method: 'PATCH', path: `/v1/products/${product.id}`, headers: customer, body: { name: 'x' } }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
      ...bodyFramingCases('PATCH', `/v1/products/${product.id}`, admin),
    ],
    deleteProduct: [
      {
        name: 'deleted, then gone',
        request: async () => {
          const created = await createProduct(client, actors.admin.token);
          return { method: 'DELETE', path: `/v1/products/${created.id}`, headers: admin };
        },
        status: 204,
      },
      {
        name: 'a stale If-Match',
        request: async () => {
          const created = await createProduct(client, actors.admin.token);
          return { method: 'DELETE', path: `/v1/products/${created.id}`, headers: { ...admin, 'if-match': '"v0"' } };
        },
        status: 412,
        code: 'PRECONDITION_FAILED',
      },
      { name: 'an unknown product', request: () => ({ method: 'DELETE', path: `/v1/products/${UNKNOWN_ID}`, headers: admin }), status: 404, code: 'CATALOG_PRODUCT_NOT_FOUND' },
      { name: 'a customer may not', request: () => ({ method: 'DELETE', path: `/v1/products/${product.id}`, headers: customer }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
    ],

    listCategories: [
      { name: 'the first page', request: () => ({ method: 'GET', path: '/v1/categories?limit=2' }), status: 200 },
      { name: 'limit too large', request: () => ({ method: 'GET', path: '/v1/categories?limit=1000' }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
    ],
    createCategory: [
      {
        name: 'an admin creates a category',
        request: () => ({ method: 'POST', path: '/v1/categories', headers: admin, body: { name: `Cat ${randomUUID().slice(0, 8)}` } }),
        status: 201,
        expect: all(header('location', /^\/v1\/categories\/[0-9a-f-]{36}$/), locationResolves(client, actors.admin.token)),
      },
      {
        name: 'a slug taken',
        request: async () => {
          const existing = await client.expectOk<{ slug: string }>({ method: 'GET', path: `/v1/categories/${category.id}` });
          return { method: 'POST', path: '/v1/categories', headers: admin, body: { name: 'Twin', slug: existing.slug } };
        },
        status: 409,
        code: 'CATALOG_SLUG_TAKEN',
      },
      { name: 'a slug with capitals', request: () => ({ method: 'POST', path: '/v1/categories', headers: admin, body: { name: 'x', slug: 'Not-A-Slug' } }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'a customer may not', request: () => ({ method: 'POST', path: '/v1/categories', headers: customer, body: { name: 'x' } }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
      ...bodyFramingCases('POST', '/v1/categories', admin),
    ],
    getCategory: [
      { name: 'a category, with its ETag', request: () => ({ method: 'GET', path: `/v1/categories/${category.id}` }), status: 200, expect: header('etag', /^"[^"]+"$/) },
      {
        name: 'If-None-Match with the current ETag',
        request: async () => ({ method: 'GET', path: `/v1/categories/${category.id}`, headers: { 'if-none-match': await etagOf(`/v1/categories/${category.id}`) } }),
        status: 304,
        expect: header('etag', /^"[^"]+"$/),
      },
      { name: 'HEAD', request: () => ({ method: 'HEAD', path: `/v1/categories/${category.id}` }), status: 200 },
      { name: 'an unknown category', request: () => ({ method: 'GET', path: `/v1/categories/${UNKNOWN_ID}` }), status: 404, code: 'CATALOG_CATEGORY_NOT_FOUND' },
    ],
    updateCategory: [
      {
        name: 'with the current If-Match',
        request: async () => {
          const created = await createCategory(client, actors.admin.token);
          return { method: 'PATCH', path: `/v1/categories/${created.id}`, headers: { ...admin, 'if-match': await etagOf(`/v1/categories/${created.id}`) }, body: { description: 'Updated' } };
        },
        status: 200,
        expect: field('description', 'Updated'),
      },
      {
        name: 'a stale If-Match',
        request: async () => {
          const created = await createCategory(client, actors.admin.token);
          return { method: 'PATCH', path: `/v1/categories/${created.id}`, headers: { ...admin, 'if-match': '"v0"' }, body: { description: 'Late' } };
        },
        status: 412,
        code: 'PRECONDITION_FAILED',
      },
      { name: 'an unknown category', request: () => ({ method: 'PATCH', path: `/v1/categories/${UNKNOWN_ID}`, headers: admin, body: { name: 'x' } }), status: 404, code: 'CATALOG_CATEGORY_NOT_FOUND' },
      { name: 'a customer may not', request: () => ({ method: 'PATCH', path: `/v1/categories/${category.id}`, headers: customer, body: { name: 'x' } }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
      ...bodyFramingCases('PATCH', `/v1/categories/${category.id}`, admin),
    ],
    deleteCategory: [
      {
        name: 'an unused category',
        request: async () => ({ method: 'DELETE', path: `/v1/categories/${(await createCategory(client, actors.admin.token)).id}`, headers: admin }),
        status: 204,
      },
      { name: 'a category products still use', request: () => ({ method: 'DELETE', path: `/v1/categories/${category.id}`, headers: admin }), status: 409, code: 'CATALOG_CATEGORY_IN_USE' },
      { name: 'an unknown category', request: () => ({ method: 'DELETE', path: `/v1/categories/${UNKNOWN_ID}`, headers: admin }), status: 404, code: 'CATALOG_CATEGORY_NOT_FOUND' },
      { name: 'a customer may not', request: () => ({ method: 'DELETE', path: `/v1/categories/${category.id}`, headers: customer }), status: 403, code: 'AUTH_SCOPE_REQUIRED' },
    ],

    createOrder: [
      {
        name: 'an order, waited for',
        request: () => ({ method: 'POST', path: '/v1/orders', headers: { ...customer, prefer: 'wait=10' }, body: { items: [{ productId: product.id, quantity: 1 }] } }),
        status: 201,
        expect: all(header('location', /^\/v1\/orders\/[0-9a-f-]{36}$/), header('preference-applied', /^wait=10$/), field('status', 'confirmed'), locationResolves(client, actors.customer.token)),
      },
      {
        name: 'the same Idempotency-Key and body again: the first answer, replayed',
        request: async () => {
          const key = randomUUID();
          const request = { method: 'POST', path: '/v1/orders', headers: { ...customer, 'idempotency-key': key }, body: { items: [{ productId: product.id, quantity: 1 }] } };
          await client.expectOk(request);
          return request;
        },
        status: 201,
        expect: header('idempotent-replayed', /^true$/),
      },
      {
        name: 'the same Idempotency-Key with another body',
        request: async () => {
          const key = randomUUID();
          await client.expectOk({ method: 'POST', path: '/v1/orders', headers: { ...customer, 'idempotency-key': key }, body: { items: [{ productId: product.id, quantity: 1 }] } });
          return { method: 'POST', path: '/v1/orders', headers: { ...customer, 'idempotency-key': key }, body: { items: [{ productId: product.id, quantity: 2 }] } };
        },
        status: 422,
        code: 'ORDERS_IDEMPOTENCY_KEY_REUSED',
      },
      {
        name: 'one product twice',
        request: () => ({ method: 'POST', path: '/v1/orders', headers: customer, body: { items: [{ productId: product.id, quantity: 1 }, { productId: product.id, quantity: 1 }] } }),
        status: 400,
        code: 'ORDERS_DUPLICATE_PRODUCT',
      },
      {
        name: 'one product twice, in two letter cases',
        request: () => ({ method: 'POST', path: '/v1/orders', headers: customer, body: { items: [{ productId: product.id, quantity: 1 }, { productId: product.id.toUpperCase(), quantity: 1 }] } }),
        status: 400,
        code: 'ORDERS_DUPLICATE_PRODUCT',
      },
      { name: 'a client may not send prices', request: () => ({ method: 'POST', path: '/v1/orders', headers: customer, body: { items: [{ productId: product.id, quantity: 1, unitPriceCents: 1 }] } }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'no credentials', request: () => ({ method: 'POST', path: '/v1/orders', body: { items: [{ productId: product.id, quantity: 1 }] } }), status: 401, code: 'AUTH_TOKEN_MISSING', expect: challenged },
      ...bodyFramingCases('POST', '/v1/orders', customer),
    ],
    listOrders: [
      { name: "the caller's orders", request: () => ({ method: 'GET', path: '/v1/orders?limit=5', headers: customer }), status: 200 },
      { name: "an admin filters by user and status", request: () => ({ method: 'GET', path: `/v1/orders?userId=${actors.customer.id}&status=confirmed`, headers: admin }), status: 200 },
      { name: 'an unknown status', request: () => ({ method: 'GET', path: '/v1/orders?status=shipped', headers: customer }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'no credentials', request: () => ({ method: 'GET', path: '/v1/orders' }), status: 401, expect: challenged },
    ],
    orderEvents: [
      // The upgrade itself (101) is opened with a WebSocket client by the suite.
      { name: 'a plain GET is not an upgrade', request: () => ({ method: 'GET', path: '/v1/orders/events', headers: customer }), status: 426, code: 'GATEWAY_UPGRADE_REQUIRED' },
      { name: 'no credentials', request: () => ({ method: 'GET', path: '/v1/orders/events' }), status: 401, expect: challenged },
    ],
    getOrder: [
      { name: 'the owner reads it', request: async () => ({ method: 'GET', path: `/v1/orders/${(await placeOrder()).id}`, headers: customer }), status: 200 },
      { name: 'an admin reads it', request: async () => ({ method: 'GET', path: `/v1/orders/${(await placeOrder()).id}`, headers: admin }), status: 200 },
      { name: "someone else's order is not found", request: async () => ({ method: 'GET', path: `/v1/orders/${(await placeOrder()).id}`, headers: other }), status: 404, code: 'ORDERS_ORDER_NOT_FOUND' },
      { name: 'a malformed id', request: () => ({ method: 'GET', path: '/v1/orders/not-a-uuid', headers: customer }), status: 404 },
      { name: 'no credentials', request: () => ({ method: 'GET', path: `/v1/orders/${UNKNOWN_ID}` }), status: 401, expect: challenged },
    ],
    cancelOrder: [
      { name: 'the owner cancels', request: async () => ({ method: 'POST', path: `/v1/orders/${(await placeOrder()).id}/cancel`, headers: customer }), status: 200, expect: field('status', 'cancelled') },
      {
        name: 'cancelled already',
        request: async () => {
          const { id } = await placeOrder();
          await client.expectOk({ method: 'POST', path: `/v1/orders/${id}/cancel`, headers: customer });
          return { method: 'POST', path: `/v1/orders/${id}/cancel`, headers: customer };
        },
        status: 409,
        code: 'ORDERS_NOT_CANCELLABLE',
      },
      { name: "someone else's order", request: async () => ({ method: 'POST', path: `/v1/orders/${(await placeOrder()).id}/cancel`, headers: other }), status: 404, code: 'ORDERS_ORDER_NOT_FOUND' },
      {
        name: 'an unknown body property',
        request: async () => ({ method: 'POST', path: `/v1/orders/${(await placeOrder()).id}/cancel`, headers: customer, body: { status: 'confirmed' } }),
        status: 400,
        code: 'REQUEST_VALIDATION_FAILED',
      },
    ],
    getProductRecommendations: [
      {
        name: "a product's recommendations, once the service has heard of it",
        request: async () => {
          // Recommendations learn products from the catalog's events: within a few seconds.
          const path = `/v1/products/${product.id}/recommendations?limit=5`;
          for (let attempt = 0; attempt < 100 && (await client.send({ method: 'GET', path })).status === 404; attempt += 1) {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          return { method: 'GET', path };
        },
        status: 200,
      },
      { name: 'a limit above 50', request: () => ({ method: 'GET', path: `/v1/products/${product.id}/recommendations?limit=51` }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'an unknown product', request: () => ({ method: 'GET', path: `/v1/products/${UNKNOWN_ID}/recommendations` }), status: 404, code: 'RECOMMENDATIONS_PRODUCT_NOT_FOUND' },
      { name: 'a malformed id', request: () => ({ method: 'GET', path: '/v1/products/not-a-uuid/recommendations' }), status: 404 },
    ],
    getRecommendations: [
      { name: 'for the signed-in customer', request: () => ({ method: 'GET', path: '/v1/recommendations?limit=3', headers: customer }), status: 200 },
      { name: 'a limit of 0', request: () => ({ method: 'GET', path: '/v1/recommendations?limit=0', headers: customer }), status: 400, code: 'REQUEST_VALIDATION_FAILED' },
      { name: 'no credentials', request: () => ({ method: 'GET', path: '/v1/recommendations' }), status: 401, expect: challenged },
    ],
  };
}
