import { randomUUID } from 'node:crypto';
import { loadConfig } from '@shop/service-kit';
import { buildTestService, createTestTokenIssuer, type Teardown } from '@shop/testing';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type BuildOptions } from '../src/app';
import { CatalogConfigSchema, type CatalogConfig } from '../src/config';
import { catalogSchema } from '../src/database';

/** Builds the catalog on a fresh database and Redis prefix of its own, with real tokens; closed and dropped on teardown. */
export async function build(t: Teardown, overrides: Partial<Record<keyof CatalogConfig, string>> = {}, options: BuildOptions = {}) {
  const issuer = await createTestTokenIssuer();
  let config!: CatalogConfig;
  const { app, env } = await buildTestService(t, {
    label: 'catalog',
    schema: catalogSchema,
    build: async (testEnv) => {
      config = loadConfig(CatalogConfigSchema, { ...testEnv, ...overrides });
      return buildApp(config, { verificationKeys: issuer.verificationKeys, ...options });
    },
  });
  const admin = bearer(await issuer.tokenFor({ role: 'admin' }));
  const customer = bearer(await issuer.tokenFor({ role: 'customer' }));
  return { app, env, config, issuer, admin, customer };
}

export type App = Awaited<ReturnType<typeof build>>['app'];

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

export type ProductBody = {
  sku: string;
  name: string;
  description?: string | null;
  priceCents: number;
  currency?: string;
  categoryId?: string | null;
  tags?: string[];
  stock: number;
};

export interface ProductJson extends Required<ProductBody> {
  id: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export function productBody(overrides: Partial<ProductBody> = {}): ProductBody {
  return {
    sku: `SKU-${randomUUID().slice(0, 8)}`,
    name: 'Walnut desk lamp',
    description: 'A warm reading light with a solid walnut base.',
    priceCents: 4_999,
    tags: ['lighting', 'home'],
    stock: 10,
    ...overrides,
  };
}

export async function createProduct(app: App, headers: Record<string, string>, overrides: Partial<ProductBody> = {}): Promise<ProductJson> {
  const response = await app.inject({ method: 'POST', url: '/v1/products', headers, payload: productBody(overrides) });
  if (response.statusCode !== 201) throw new Error(`create product failed: ${response.statusCode} ${response.body}`);
  return response.json<ProductJson>();
}

export async function createCategory(app: App, headers: Record<string, string>, body: { name: string; slug?: string; description?: string | null }) {
  const response = await app.inject({ method: 'POST', url: '/v1/categories', headers, payload: body });
  if (response.statusCode !== 201) throw new Error(`create category failed: ${response.statusCode} ${response.body}`);
  return response.json<{ id: string; name: string; slug: string; description: string | null; createdAt: string; updatedAt: string }>();
}

/** Every problem body has the RFC 9457 members and a stable code. */
export function problemOf(response: LightMyRequestResponse) {
  return response.json<{ type: string; title: string; status: number; detail?: string; code: string; requestId: string; instance: string; errors?: { path: string; message: string }[] }>();
}

/** Polls until `check` passes or the deadline (generous, for a loaded machine) is reached. */
export async function eventually<T>(check: () => Promise<T | undefined>, { timeoutMs = 10_000, intervalMs = 25 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
