import { loadConfig } from '@shop/service-kit';
import { buildTestService, type Teardown } from '@shop/testing';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type BuildOptions } from '../src/app';
import { AuthConfigSchema, type AuthConfig } from '../src/config';
import { authSchema } from '../src/database';

export const ADMIN = { email: 'admin@example.test', password: 'admin-password-for-tests' };

/** Builds auth on a fresh database of its own, with a bootstrap admin; closed and dropped on teardown. */
export async function build(t: Teardown, overrides: Partial<Record<keyof AuthConfig, string>> = {}, options: BuildOptions = {}) {
  let config!: AuthConfig;
  const { app, env } = await buildTestService(t, {
    label: 'auth',
    schema: authSchema,
    build: async (testEnv) => {
      config = loadConfig(AuthConfigSchema, { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, ...testEnv, ...overrides });
      return buildApp(config, options);
    },
  });
  return { app, env, config };
}

type App = Awaited<ReturnType<typeof build>>['app'];

export async function register(app: App, email: string, password = 'correct horse battery', name = 'Test User') {
  const response = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password, name } });
  if (response.statusCode !== 201) throw new Error(`register failed: ${response.statusCode} ${response.body}`);
  return response.json<{ id: string; email: string }>();
}

export async function login(app: App, email: string, password: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, headers });
}

export async function tokensFor(app: App, email: string, password: string) {
  const response = await login(app, email, password);
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  return response.json<{ accessToken: string; refreshToken: string; expiresIn: number }>();
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

/** Every problem body has the RFC 9457 members and a stable code. */
export function problemOf(response: LightMyRequestResponse) {
  return response.json<{ type: string; title: string; status: number; detail?: string; code: string; requestId: string; instance: string; errors?: { path: string; message: string }[] }>();
}
