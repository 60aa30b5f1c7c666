import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createService, type ServiceInstance } from '@shop/service-kit';
import { Type } from '@sinclair/typebox';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { installTokenVerifier, remoteJwks, type AuthorizationFreshness } from '../src/index';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export const ISSUER = 'urn:shop:auth';
export const AUDIENCE = 'urn:shop:api';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public half as it appears in a JWKS. */
  jwk: JWK;
}

export async function generateSigningKey(alg: 'EdDSA' | 'ES256' = 'EdDSA'): Promise<SigningKey> {
  const { privateKey, publicKey } = alg === 'EdDSA' ? await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true }) : await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateKey, publicKey, jwk: { ...publicJwk, kid, alg, use: 'sig' } };
}

export interface TokenOptions {
  claims?: JWTPayload & Record<string, unknown>;
  /** Claims to leave out of the standard set. */
  omit?: string[];
  header?: Record<string, unknown>;
  /** Header members to leave out (e.g. `typ`). */
  omitHeader?: string[];
}

/** An access token in auth's exact format, with whatever the test wants changed. */
export async function signToken(key: SigningKey, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: randomUUID(),
    role: 'customer',
    scope: '',
    iat: now,
    exp: now + 900,
    jti: randomUUID(),
    ...options.claims,
  };
  for (const name of options.omit ?? []) delete claims[name];
  const header: Record<string, unknown> = { alg: key.jwk.alg, typ: 'at+jwt', kid: key.kid, ...options.header };
  for (const name of options.omitHeader ?? []) delete header[name];
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

export function base64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/**
 * A stand-in for auth's `/.well-known/jwks.json` on a real port: its keys can change
 * (rotation), it can fail, and it counts how often it was asked.
 */
export interface JwksServer {
  url: string;
  keys: JWK[];
  requests: number;
  /** `ok` serves the keys; the others fail the way a broken upstream does. */
  mode: 'ok' | 'error' | 'garbage' | 'hang';
  close(): Promise<void>;
}

export async function startJwksServer(t: Teardown, keys: JWK[]): Promise<JwksServer> {
  const state: JwksServer = { url: '', keys, requests: 0, mode: 'ok', close: async () => undefined };
  const server: Server = createServer((request, response) => {
    state.requests += 1;
    if (state.mode === 'hang') return;
    if (state.mode === 'error') {
      response.writeHead(500, { 'content-type': 'text/plain' }).end('upstream broke');
      return;
    }
    if (state.mode === 'garbage') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": "not a list"');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}/.well-known/jwks.json`;
  let closed = false;
  state.close = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  t.teardown(() => state.close());
  return state;
}

/** A URL where nothing listens: a port that was just free. */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/.well-known/jwks.json`;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * A service that verifies tokens the way catalog and orders do, with a public route, a route
 * for any signed-in caller and one that needs `catalog:write`.
 */
export async function buildVerifyingApp(
  t: Teardown,
  keys: JWTVerifyGetKey,
  options: { realm?: string; freshness?: AuthorizationFreshness; routes?: (app: ServiceInstance) => void } = {},
): Promise<{ app: ServiceInstance; logs: LogLine[] }> {
  const logs: LogLine[] = [];
  const app = await createService({
    name: 'verifier-test',
    version: '0.0.1',
    description: 'token verification under test',
    logLevel: 'info',
    trustProxy: false,
    logStream: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  });
  t.teardown(() => app.close());
  installTokenVerifier(app, {
    keys,
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['EdDSA'],
    freshness: options.freshness ?? null,
    ...(options.realm ? { realm: options.realm } : {}),
  });

  app.get('/public', async (request) => ({ principal: request.principal }));
  app.get('/me', { onRequest: app.requireAuth }, async (request) => ({ principal: request.principal }));
  app.post(
    '/products',
    { onRequest: app.requireScopes('catalog:write'), schema: { body: Type.Object({ name: Type.String() }, { additionalProperties: false }) } },
    async (request, reply) => reply.code(201).send({ created: request.body.name, by: request.principal?.userId }),
  );
  options.routes?.(app);
  await app.ready();
  return { app, logs };
}

export function jwksKeys(url: string, cooldownMs = 30_000, timeoutMs = 2_000): JWTVerifyGetKey {
  return remoteJwks(url, { cooldownMs, timeoutMs });
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}
