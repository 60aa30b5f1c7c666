import { randomUUID } from 'node:crypto';

export interface ApiRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent as it is (a string or bytes); objects are sent as JSON with `content-type: application/json`. */
  body?: unknown;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body; undefined when there was none or it was not JSON. */
  json: unknown;
}

/**
 * A real HTTP client (undici, through `fetch`) against the gateway; no redirects. A 429 is waited
 * out (its `Retry-After`, up to a minute, twice at most): a stack whose limits the suite cannot
 * raise (the compose stack, through `GATEWAY_URL`) must still run it, only slower.
 */
export class ApiClient {
  constructor(readonly baseUrl: string) {}

  async send(request: ApiRequest): Promise<ApiResponse> {
    let response = await this.sendOnce(request);
    for (let retry = 0; retry < 2 && response.status === 429; retry += 1) {
      const seconds = Number(response.headers.get('retry-after') ?? 'NaN');
      if (!Number.isFinite(seconds) || seconds > 60) break;
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + 100));
      response = await this.sendOnce(request);
    }
    return response;
  }

  private async sendOnce(request: ApiRequest): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...request.headers };
    let body: string | Buffer | undefined;
    if (typeof request.body === 'string' || Buffer.isBuffer(request.body)) body = request.body;
    else if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${request.path}`, {
      method: request.method,
      headers,
      redirect: 'manual',
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  /** Like `send`, but a 2xx is required: set-up steps of a test, not the thing under test. */
  async expectOk<T = Record<string, unknown>>(request: ApiRequest): Promise<T> {
    const response = await this.send(request);
    if (response.status < 200 || response.status > 299) throw new Error(`${request.method} ${request.path}: ${response.status} ${response.text.slice(0, 500)}`);
    return response.json as T;
  }
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Who the suites act as, and a few objects to act on. */
export interface Actors {
  admin: { token: string; refreshToken: string };
  customer: { id: string; email: string; password: string; token: string; refreshToken: string };
  /** A second customer: someone else's order must be a 404 to the first. */
  other: { id: string; token: string };
  /** An API key with every scope, and the id to revoke it by. */
  apiKey: { id: string; key: string };
}

export async function signUp(client: ApiClient, label: string): Promise<Actors['customer']> {
  const email = `${label}-${randomUUID()}@example.test`;
  const password = 'correct horse battery';
  const user = await client.expectOk<{ id: string }>({ method: 'POST', path: '/v1/auth/register', body: { email, password, name: label } });
  const tokens = await client.expectOk<{ accessToken: string; refreshToken: string }>({ method: 'POST', path: '/v1/auth/login', body: { email, password } });
  return { id: user.id, email, password, token: tokens.accessToken, refreshToken: tokens.refreshToken };
}

export async function setUpActors(client: ApiClient, admin: { email: string; password: string }): Promise<Actors> {
  const adminTokens = await client.expectOk<{ accessToken: string; refreshToken: string }>({ method: 'POST', path: '/v1/auth/login', body: admin });
  const [customer, other] = await Promise.all([signUp(client, 'customer'), signUp(client, 'other')]);
  const apiKey = await client.expectOk<{ id: string; key: string }>({
    method: 'POST',
    path: '/v1/auth/api-keys',
    headers: bearer(adminTokens.accessToken),
    body: { name: `e2e-${randomUUID().slice(0, 8)}`, scopes: ['catalog:write', 'orders:read:all', 'users:admin'] },
  });
  return { admin: { token: adminTokens.accessToken, refreshToken: adminTokens.refreshToken }, customer, other: { id: other.id, token: other.token }, apiKey };
}

export function newSku(): string {
  return `E2E-${randomUUID().slice(0, 13)}`;
}

export async function createProduct(client: ApiClient, adminToken: string, fields: Record<string, unknown> = {}): Promise<Record<string, unknown> & { id: string }> {
  return client.expectOk({
    method: 'POST',
    path: '/v1/products',
    headers: bearer(adminToken),
    body: { sku: newSku(), name: 'Contract mug', description: 'Holds tea', priceCents: 1250, tags: ['e2e'], stock: 100, ...fields },
  });
}

export async function createCategory(client: ApiClient, adminToken: string): Promise<Record<string, unknown> & { id: string }> {
  const suffix = randomUUID().slice(0, 8);
  return client.expectOk({ method: 'POST', path: '/v1/categories', headers: bearer(adminToken), body: { name: `Category ${suffix}`, slug: `category-${suffix}` } });
}
