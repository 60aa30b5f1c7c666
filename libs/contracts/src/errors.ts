/**
 * Every error the public API can answer with, keyed by its stable `code`.
 * Clients branch on `code`; `status` and `title` are what the problem+json body carries.
 * Codes are prefixed by the service that raises them; unprefixed ones come from the shared kit.
 */
export const ErrorCodes = {
  // Shared by every service (service kit, token verification).
  REQUEST_VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  REQUEST_MALFORMED_BODY: { status: 400, title: 'The request body could not be parsed' },
  REQUEST_MALFORMED: { status: 400, title: 'The request is not valid HTTP' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request took too long to arrive' },
  REQUEST_HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  RESOURCE_NOT_FOUND: { status: 404, title: 'Resource not found' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed on this resource' },
  PRECONDITION_FAILED: { status: 412, title: 'The resource has changed' },
  REQUEST_BODY_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL_ERROR: { status: 500, title: 'Internal server error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
  SERVICE_SHUTTING_DOWN: { status: 503, title: 'The service is shutting down' },
  AUTH_TOKEN_MISSING: { status: 401, title: 'Authentication required' },
  AUTH_TOKEN_INVALID: { status: 401, title: 'The access token is not valid' },
  AUTH_SCOPE_REQUIRED: { status: 403, title: 'Not allowed' },
  AUTH_KEYS_UNAVAILABLE: { status: 503, title: 'Token verification keys are unavailable' },
  AUTH_TOKEN_REVOKED: { status: 401, title: 'The access token was revoked' },
  AUTH_ACCOUNT_DISABLED: { status: 403, title: 'The account is disabled' },
  AUTH_USER_REQUIRED: { status: 403, title: 'Only a signed-in user may do this; an API key acts only through its scopes' },
  AUTH_FRESHNESS_UNAVAILABLE: { status: 503, title: 'Privileges cannot be confirmed right now' },

  // auth service
  AUTH_EMAIL_TAKEN: { status: 409, title: 'This email is already registered' },
  AUTH_INVALID_CREDENTIALS: { status: 401, title: 'Invalid email or password' },
  AUTH_INVALID_REFRESH_TOKEN: { status: 401, title: 'The refresh token is not valid' },
  AUTH_TOO_MANY_LOGIN_ATTEMPTS: { status: 429, title: 'Too many login attempts' },
  AUTH_USER_NOT_FOUND: { status: 404, title: 'User not found' },
  AUTH_LAST_ADMIN: { status: 409, title: 'The last admin cannot be demoted or disabled' },
  AUTH_API_KEY_NOT_FOUND: { status: 404, title: 'API key not found' },
  AUTH_API_KEY_INVALID: { status: 401, title: 'The API key is not valid' },

  // catalog service
  CATALOG_PRODUCT_NOT_FOUND: { status: 404, title: 'Product not found' },
  CATALOG_SKU_TAKEN: { status: 409, title: 'Another product already has this SKU' },
  CATALOG_CATEGORY_NOT_FOUND: { status: 404, title: 'Category not found' },
  CATALOG_CATEGORY_IN_USE: { status: 409, title: 'Products still belong to this category' },
  CATALOG_SLUG_TAKEN: { status: 409, title: 'Another category already has this slug' },

  // orders service
  ORDERS_ORDER_NOT_FOUND: { status: 404, title: 'Order not found' },
  ORDERS_DUPLICATE_PRODUCT: { status: 400, title: 'Each product may appear once per order' },
  ORDERS_NOT_CANCELLABLE: { status: 409, title: 'The order can no longer be cancelled' },
  ORDERS_IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'This Idempotency-Key was used with another request' },
  ORDERS_IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'A request with this Idempotency-Key is still being processed' },
  ORDERS_INVALID_IDEMPOTENCY_KEY: { status: 400, title: 'The Idempotency-Key header is not valid' },

  // recommendations service
  RECOMMENDATIONS_PRODUCT_NOT_FOUND: { status: 404, title: 'Product not found' },

  // gateway
  GATEWAY_UPSTREAM_UNAVAILABLE: { status: 503, title: 'The service behind this route is unavailable' },
  GATEWAY_UPSTREAM_TIMEOUT: { status: 504, title: 'The service behind this route did not answer in time' },
  GATEWAY_BAD_UPSTREAM_RESPONSE: { status: 502, title: 'The service behind this route failed to answer' },
  GATEWAY_CIRCUIT_OPEN: { status: 503, title: 'The service behind this route is failing; requests are paused' },
  GATEWAY_UPGRADE_REQUIRED: { status: 426, title: 'This route speaks WebSocket only' },
  GATEWAY_TOO_MANY_SOCKETS: { status: 429, title: 'Too many open WebSockets' },
  GRAPHQL_QUERY_TOO_COMPLEX: { status: 400, title: 'The GraphQL query is too deep, too costly or has too many aliases' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

/** The problem `type` URI of a code: stable, and unique per code. */
export function problemTypeOf(code: ErrorCode): string {
  return `urn:shop:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}
