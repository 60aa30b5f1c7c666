import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { remoteJwks, verifyAccessToken } from '@shop/token-verifier';
import { createLocalJWKSet } from 'jose';
import t from 'tap';
import { ADMIN, build, tokensFor } from '../helper';

t.test('tokens verify against the published JWKS, as other services verify them', async (t) => {
  const { app, config } = await build(t);
  const jwks = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  t.equal(jwks.statusCode, 200);
  t.match(jwks.headers['cache-control'], /max-age=\d+/);
  const { keys } = jwks.json();
  t.equal(keys.length, 1);
  t.match(keys[0], { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: /.+/ });
  t.notOk('d' in keys[0], 'the private part is never published');

  const { accessToken } = await tokensFor(app, ADMIN.email, ADMIN.password);
  const [header, payload] = accessToken.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);
  t.match(header, { alg: 'EdDSA', typ: 'at+jwt', kid: keys[0].kid });
  t.match(payload, { iss: 'urn:shop:auth', aud: 'urn:shop:api', role: 'admin', scope: 'catalog:write orders:read:all users:admin' });
  for (const claim of ['sub', 'iat', 'exp', 'jti']) t.ok(payload![claim], `claim ${claim}`);
  t.ok((payload!.exp as number) - (payload!.iat as number) <= 900, 'at most 15 minutes');

  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const principal = await verifyAccessToken(accessToken, {
    keys: remoteJwks(`http://127.0.0.1:${port}/.well-known/jwks.json`),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    algorithms: ['EdDSA'],
  });
  t.match(principal, { role: 'admin', scopes: ['catalog:write', 'orders:read:all', 'users:admin'] });
});

t.test('configured keys: a P-256 PEM signs with ES256, and the previous key stays published', async (t) => {
  const current = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const previous = generateKeyPairSync('ed25519');
  const { app } = await build(t, {
    JWT_PRIVATE_KEY: current.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    JWT_PREVIOUS_PUBLIC_KEY: JSON.stringify(previous.publicKey.export({ format: 'jwk' })),
  });
  const { keys } = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
  t.equal(keys.length, 2);
  t.match(keys[0], { kty: 'EC', crv: 'P-256', alg: 'ES256' });
  t.match(keys[1], { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
  const { accessToken } = await tokensFor(app, ADMIN.email, ADMIN.password);
  const header = JSON.parse(Buffer.from(accessToken.split('.')[0]!, 'base64url').toString());
  t.match(header, { alg: 'ES256', kid: keys[0].kid });
  const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${accessToken}` } });
  t.equal(me.statusCode, 200);
});

t.test('a key from a file; unusable keys are config errors', async (t) => {
  const dir = t.testdir({ 'key.pem': generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
  const { app } = await build(t, { JWT_PRIVATE_KEY_FILE: `${dir}/key.pem` });
  t.equal((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys.length, 1);

  await t.rejects(build(t, { JWT_PRIVATE_KEY: 'not a key' }), { name: 'ConfigError', message: /JWT_PRIVATE_KEY/ });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await t.rejects(build(t, { JWT_PRIVATE_KEY: rsa }), { name: 'ConfigError', message: /Ed25519 or P-256/ });
  await t.rejects(build(t, { JWT_PRIVATE_KEY_FILE: `${dir}/missing.pem` }), { name: 'ConfigError', message: /cannot read/ });
});

t.test('DEV ONLY: a key kept in JWT_DEV_KEY_FILE is generated once, so tokens outlive a restart of auth', async (t) => {
  const dir = t.testdir({});
  const file = `${dir}/jwt-dev.pem`;
  const first = await build(t, { JWT_DEV_KEY_FILE: file });
  const { accessToken } = await tokensFor(first.app, ADMIN.email, ADMIN.password);
  const kid = (await first.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys[0].kid;
  t.equal(statSync(file).mode & 0o777, 0o600, 'only its owner reads it');
  t.same(readdirSync(dir), ['jwt-dev.pem'], 'no temporary file is left behind');

  // A second auth on the same file (a recreated container) signs with the same key and accepts the earlier token.
  const second = await build(t, { JWT_DEV_KEY_FILE: file });
  const published = (await second.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
  t.equal(published.keys[0].kid, kid);
  const principal = await verifyAccessToken(accessToken, {
    keys: createLocalJWKSet(published),
    issuer: second.config.JWT_ISSUER,
    audience: second.config.JWT_AUDIENCE,
    algorithms: ['EdDSA'],
  });
  t.match(principal, { role: 'admin' });

  // A configured key always wins; the kept one is only a fallback.
  const configured = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const withKey = await build(t, { JWT_DEV_KEY_FILE: file, JWT_PRIVATE_KEY: configured });
  t.match((await withKey.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys[0], { alg: 'ES256' });
  t.equal(readFileSync(file, 'utf8').includes('PRIVATE KEY'), true, 'the kept key is left as it was');

  await t.rejects(build(t, { JWT_DEV_KEY_FILE: `${dir}/missing-directory/jwt-dev.pem` }), { name: 'ConfigError', message: /JWT_DEV_KEY_FILE: cannot keep/ });
  await t.rejects(build(t, { JWT_DEV_KEY_FILE: `${file}/below-a-file.pem` }), { name: 'ConfigError', message: /JWT_DEV_KEY_FILE: cannot read/ });
  writeFileSync(`${dir}/garbage.pem`, 'not a key');
  await t.rejects(build(t, { JWT_DEV_KEY_FILE: `${dir}/garbage.pem` }), { name: 'ConfigError', message: /neither a PEM nor a JWK/ });
});
