/**
 * The allow-list: every public operation of the stack, and nothing else. A request that matches
 * no entry never leaves the gateway (404, or 405 when only the method is wrong), so no internal
 * route of a service (`/internal/*`, its `/health`, its `/docs`) is reachable from outside.
 * Taken from the public API contract; the OpenAPI document is filtered to exactly these.
 */

export type UpstreamName = 'auth' | 'catalog' | 'orders' | 'recommendations';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface PublicRoute {
  method: HttpMethod;
  /** Fastify syntax (`:id`); the OpenAPI path is derived from it. */
  path: string;
  upstream: UpstreamName;
  /** Stable and unique: the OpenAPI operationId. */
  operationId: string;
  /** Used in the OpenAPI document when the service's own description is unavailable. */
  summary: string;
  /** `required`: no credentials, no entry (401 at the edge). `optional`: anonymous welcome, but bad credentials are still refused. */
  auth: 'required' | 'optional';
  /** `login`: the stricter per-address limit of login and registration. */
  rateLimit: 'default' | 'login';
  /** `long` for routes that legitimately wait (`Prefer: wait=N` on order creation). */
  timeout: 'default' | 'long';
  /** Proxied as a WebSocket; the token may also come as the `access_token` query parameter. */
  websocket?: true;
}

type Entry = [HttpMethod, string, UpstreamName, string, string, Partial<Pick<PublicRoute, 'auth' | 'rateLimit' | 'timeout' | 'websocket'>>?];

const entries: Entry[] = [
  // auth
  ['POST', '/v1/auth/register', 'auth', 'register', 'Create an account', { auth: 'optional', rateLimit: 'login' }],
  ['POST', '/v1/auth/login', 'auth', 'login', 'Log in with email and password', { auth: 'optional', rateLimit: 'login' }],
  ['POST', '/v1/auth/refresh', 'auth', 'refreshTokens', 'Rotate a refresh token', { auth: 'optional' }],
  ['POST', '/v1/auth/logout', 'auth', 'logout', "Revoke a refresh token's family", { auth: 'optional' }],
  ['GET', '/v1/auth/me', 'auth', 'getMe', 'The signed-in user'],
  ['POST', '/v1/auth/api-keys', 'auth', 'createApiKey', 'Create an API key'],
  ['GET', '/v1/auth/api-keys', 'auth', 'listApiKeys', 'List API keys'],
  ['DELETE', '/v1/auth/api-keys/:id', 'auth', 'revokeApiKey', 'Revoke an API key'],
  ['GET', '/v1/users', 'auth', 'listUsers', 'List users'],
  ['PATCH', '/v1/users/:id', 'auth', 'updateUser', "Change a user's role, or disable or re-enable the account"],
  ['GET', '/.well-known/jwks.json', 'auth', 'getJwks', 'Public keys that verify access tokens', { auth: 'optional' }],

  // catalog
  ['GET', '/v1/products', 'catalog', 'listProducts', 'List and search products', { auth: 'optional' }],
  ['POST', '/v1/products', 'catalog', 'createProduct', 'Create a product'],
  ['GET', '/v1/products/:id', 'catalog', 'getProduct', 'A product', { auth: 'optional' }],
  ['PUT', '/v1/products/:id', 'catalog', 'replaceProduct', 'Replace a product'],
  ['PATCH', '/v1/products/:id', 'catalog', 'updateProduct', 'Change some fields of a product'],
  ['DELETE', '/v1/products/:id', 'catalog', 'deleteProduct', 'Delete a product'],
  ['GET', '/v1/categories', 'catalog', 'listCategories', 'List categories', { auth: 'optional' }],
  ['POST', '/v1/categories', 'catalog', 'createCategory', 'Create a category'],
  ['GET', '/v1/categories/:id', 'catalog', 'getCategory', 'A category', { auth: 'optional' }],
  ['PATCH', '/v1/categories/:id', 'catalog', 'updateCategory', 'Change some fields of a category'],
  ['DELETE', '/v1/categories/:id', 'catalog', 'deleteCategory', 'Delete a category'],

  // orders
  ['POST', '/v1/orders', 'orders', 'createOrder', 'Place an order', { timeout: 'long' }],
  ['GET', '/v1/orders', 'orders', 'listOrders', 'List orders, newest first'],
  ['GET', '/v1/orders/events', 'orders', 'orderEvents', 'Order updates, as a WebSocket', { websocket: true }],
  ['GET', '/v1/orders/:id', 'orders', 'getOrder', 'An order'],
  ['POST', '/v1/orders/:id/cancel', 'orders', 'cancelOrder', 'Cancel an order'],

  // recommendations
  ['GET', '/v1/products/:id/recommendations', 'recommendations', 'getProductRecommendations', 'Products bought together with this one', { auth: 'optional' }],
  ['GET', '/v1/recommendations', 'recommendations', 'getRecommendations', 'Products for the signed-in customer'],
];

export const PUBLIC_ROUTES: readonly PublicRoute[] = entries.map(([method, path, upstream, operationId, summary, options = {}]) => ({
  method,
  path,
  upstream,
  operationId,
  summary,
  auth: options.auth ?? 'required',
  rateLimit: options.rateLimit ?? 'default',
  timeout: options.timeout ?? 'default',
  ...(options.websocket ? { websocket: true as const } : {}),
}));

/** `/v1/products/:id` → `/v1/products/{id}`. */
export function openApiPathOf(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

/** The path parameters of a route, in order. */
export function pathParamsOf(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!);
}
