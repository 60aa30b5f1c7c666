import { createHmac, randomUUID } from 'node:crypto';
import { Access, type OperationAccess } from '@shop/contracts';
import { exportSPKI } from 'jose';
import t from 'tap';
import { base64url, bearer, buildVerifyingApp, deadUrl, generateSigningKey, jwksKeys, signToken, startJwksServer } from './helper';

interface Problem {
  code: string;
  status: number;
  detail?: string;
  requestId: string;
}

t.test('a valid token exposes request.principal', async (t) => {
  const key = await generateSigningKey();
  const jwks = await startJwksServer(t, [key.jwk]);
  const { app } = await buildVerifyingApp(t, jwksKeys(jwks.url));
  const userId = randomUUID();
  const jti = randomUUID();
  const token = await signToken(key, { claims: { sub: userId, role: 'admin', scope: 'catalog:write users:admin future:scope', jti } });

  const me = await app.inject({ method: 'GET', url: '/me', headers: bearer(token) });
  t.equal(me.statusCode, 200, me.body);
  t.match(me.json().principal, { userId, role: 'admin', scopes: ['catalog:write', 'users:admin'], tokenId: jti, kind: 'user', ownerId: userId }, 'scopes this service does not know grant nothing');
  t.same(me.json().principal.scopes, ['catalog:write', 'users:admin']);

  const created = await app.inject({ method: 'POST', url: '/products', headers: bearer(token), payload: { name: 'lamp' } });
  t.equal(created.statusCode, 201);
  t.same(created.json(), { created: 'lamp', by: userId });

  const lowercaseScheme = await app.inject({ method: 'GET', url: '/me', headers: { authorization: `bearer ${token}` } });
  t.equal(lowercaseScheme.statusCode, 200, 'the scheme is case-insensitive');

  const anonymous = await app.inject({ method: 'GET', url: '/public' });
  t.equal(anonymous.statusCode, 200);
  t.same(anonymous.json(), { principal: null }, 'no token, no principal');
});

t.test('invalid tokens are 401 AUTH_TOKEN_INVALID with an invalid_token challenge', async (t) => {
  const key = await generateSigningKey();
  const otherKey = await generateSigningKey();
  const p256 = await generateSigningKey('ES256');
  // The P-256 key is in the JWKS too: only the pinned algorithm keeps its tokens out.
  const jwks = await startJwksServer(t, [key.jwk, p256.jwk]);
  const { app, logs } = await buildVerifyingApp(t, jwksKeys(jwks.url));
  const now = Math.floor(Date.now() / 1000);
  const valid = await signToken(key, { claims: { role: 'customer' } });
  const [validHeader, validPayload, validSignature] = valid.split('.') as [string, string, string];

  const publicPem = await exportSPKI(key.publicKey);
  const hmacHeader = base64url({ alg: 'HS256', typ: 'at+jwt', kid: key.kid });
  const hmacPayload = validPayload;
  const hmacSignature = createHmac('sha256', publicPem).update(`${hmacHeader}.${hmacPayload}`).digest('base64url');

  const tamperedPayload = base64url({ ...JSON.parse(Buffer.from(validPayload, 'base64url').toString()), role: 'admin', scope: 'catalog:write users:admin' });

  const cases: Record<string, string> = {
    'alg none': `${base64url({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${validPayload}.`,
    'alg none with a signature': `${base64url({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${validPayload}.${validSignature}`,
    'HS256 signed with the public key (key confusion)': `${hmacHeader}.${hmacPayload}.${hmacSignature}`,
    'an algorithm that is not pinned (ES256, key in the JWKS)': await signToken(p256),
    expired: await signToken(key, { claims: { iat: now - 3600, exp: now - 60 } }),
    'not yet valid': await signToken(key, { claims: { nbf: now + 3600 } }),
    'wrong aud': await signToken(key, { claims: { aud: 'urn:shop:other' } }),
    'wrong iss': await signToken(key, { claims: { iss: 'https://evil.example' } }),
    'typ JWT': await signToken(key, { header: { typ: 'JWT' } }),
    'no typ (an ID token)': await signToken(key, { omitHeader: ['typ'], claims: { nonce: 'n', email: 'a@example.test' } }),
    'an opaque refresh token': `rt_${randomUUID().replaceAll('-', '')}`,
    'payload tampered (role changed, signature kept)': `${validHeader}.${tamperedPayload}.${validSignature}`,
    'signature of another token': `${validHeader}.${validPayload}.${(await signToken(key)).split('.')[2]}`,
    'unknown kid (another key)': await signToken(otherKey),
    'another key claiming the known kid': await signToken({ ...otherKey, kid: key.kid, jwk: { ...otherKey.jwk, kid: key.kid } }),
    'no jti': await signToken(key, { omit: ['jti'] }),
    'no sub': await signToken(key, { omit: ['sub'] }),
    'no exp': await signToken(key, { omit: ['exp'] }),
    'no iat': await signToken(key, { omit: ['iat'] }),
    'no role': await signToken(key, { omit: ['role'] }),
    'a non-string role': await signToken(key, { claims: { role: ['admin'] } }),
    'a numeric sub': await signToken(key, { claims: { sub: 42 as unknown as string } }),
    'truncated': valid.slice(0, -10),
    'two segments': `${validHeader}.${validPayload}`,
    'garbage': 'not-a-jwt',
  };

  for (const [name, token] of Object.entries(cases)) {
    const response = await app.inject({ method: 'GET', url: '/me', headers: bearer(token) });
    t.equal(response.statusCode, 401, name);
    t.equal(response.headers['content-type'], 'application/problem+json', name);
    t.equal(response.json<Problem>().code, 'AUTH_TOKEN_INVALID', name);
    t.match(response.headers['www-authenticate'], /^Bearer realm="shop", error="invalid_token", error_description="[^"]+"$/, name);
    t.notMatch(response.body, /stack|at .*\.(ts|js):\d+/, `${name}: no stack trace`);
  }

  const onPublic = await app.inject({ method: 'GET', url: '/public', headers: bearer(cases.expired!) });
  t.equal(onPublic.statusCode, 401, 'a bad token is refused even on a public route');

  const refused = logs.filter((line) => line.msg === 'access token refused');
  t.equal(refused.length, Object.keys(cases).length + 1, 'each refusal is logged with its reason');
  t.ok(
    refused.every((line) => typeof line.reason === 'string' && typeof line.requestId === 'string'),
    'with a reason and the request id',
  );
  t.notOk(JSON.stringify(logs).includes(validSignature), 'the token never reaches the logs');
});

t.test('a malformed Authorization header is 401 AUTH_TOKEN_INVALID', async (t) => {
  const key = await generateSigningKey();
  const jwks = await startJwksServer(t, [key.jwk]);
  const { app } = await buildVerifyingApp(t, jwksKeys(jwks.url));
  const token = await signToken(key);
  for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', `Bearer  ${token}`, `Bearer ${token} extra`, `Token ${token}`, token, '']) {
    const response = await app.inject({ method: 'GET', url: '/me', headers: { authorization: header } });
    t.equal(response.statusCode, 401, JSON.stringify(header));
    t.equal(response.json<Problem>().code, 'AUTH_TOKEN_INVALID', JSON.stringify(header));
    t.match(response.headers['www-authenticate'], /^Bearer realm="shop", error="invalid_request"/, JSON.stringify(header));
  }
  t.equal(jwks.requests, 0, 'a malformed header never costs a JWKS fetch');
});

t.test('a missing token is 401 AUTH_TOKEN_MISSING; a missing scope is 403 AUTH_SCOPE_REQUIRED', async (t) => {
  const key = await generateSigningKey();
  const jwks = await startJwksServer(t, [key.jwk]);
  const { app } = await buildVerifyingApp(t, jwksKeys(jwks.url));

  for (const request of [
    { method: 'GET' as const, url: '/me' },
    { method: 'POST' as const, url: '/products', payload: { name: 'lamp' } },
  ]) {
    const response = await app.inject(request);
    t.equal(response.statusCode, 401, request.url);
    t.equal(response.headers['www-authenticate'], 'Bearer realm="shop"', 'a bare challenge: no error when no credentials were sent');
    t.match(response.json<Problem>(), { code: 'AUTH_TOKEN_MISSING', status: 401 });
  }

  const customer = await signToken(key, { claims: { role: 'customer', scope: '' } });
  const forbidden = await app.inject({ method: 'POST', url: '/products', headers: bearer(customer), payload: { name: 'lamp' } });
  t.equal(forbidden.statusCode, 403);
  t.equal(forbidden.headers['content-type'], 'application/problem+json');
  t.match(forbidden.json<Problem>(), { code: 'AUTH_SCOPE_REQUIRED', status: 403, detail: /catalog:write/ });
  t.match(forbidden.headers['www-authenticate'], /error="insufficient_scope"/);

  const otherScopes = await signToken(key, { claims: { scope: 'users:admin orders:read:all' } });
  const stillForbidden = await app.inject({ method: 'POST', url: '/products', headers: bearer(otherScopes), payload: { name: 'lamp' } });
  t.equal(stillForbidden.statusCode, 403, 'other scopes do not add up to this one');

  const me = await app.inject({ method: 'GET', url: '/me', headers: bearer(customer) });
  t.equal(me.statusCode, 200, 'requireAuth needs no scope');
});

t.test("requireAccess: an operation's declared access, users and API keys told apart", async (t) => {
  const key = await generateSigningKey();
  const jwks = await startJwksServer(t, [key.jwk]);
  const routes: [string, OperationAccess][] = [
    ['/anyone', Access.anyone],
    ['/users-only', Access.usersOnly],
    ['/read-all-for-keys', Access.usersOrKeysWith('orders:read:all')],
    ['/writers', Access.scopes('catalog:write')],
  ];
  const guarded = await buildVerifyingApp(t, jwksKeys(jwks.url), {
    routes: (instance) => {
      for (const [url, access] of routes) {
        const guard = instance.requireAccess(access);
        instance.get(url, { ...(guard ? { onRequest: guard } : {}) }, async () => ({ ok: true }));
      }
    },
  });
  t.equal(guarded.app.requireAccess(Access.anyone), null, 'anyone: no hook at all');
  const user = bearer(await signToken(key, { claims: { role: 'customer', scope: '' } }));
  const bareKey = bearer(await signToken(key, { claims: { role: 'service', scope: '', owner: randomUUID() } }));
  const readAllKey = bearer(await signToken(key, { claims: { role: 'service', scope: 'orders:read:all', owner: randomUUID() } }));
  const cases: [string, Record<string, string>, number, string?][] = [
    ['/anyone', {}, 200],
    ['/users-only', {}, 401, 'AUTH_TOKEN_MISSING'],
    ['/users-only', user, 200],
    ['/users-only', readAllKey, 403, 'AUTH_USER_REQUIRED'],
    ['/read-all-for-keys', user, 200],
    ['/read-all-for-keys', bareKey, 403, 'AUTH_SCOPE_REQUIRED'],
    ['/read-all-for-keys', readAllKey, 200],
    ['/writers', user, 403, 'AUTH_SCOPE_REQUIRED'],
  ];
  for (const [url, headers, status, code] of cases) {
    const response = await guarded.app.inject({ method: 'GET', url, headers });
    t.equal(response.statusCode, status, `${url} ${JSON.stringify(Object.keys(headers))} ${response.body}`);
    if (code) t.equal(response.json<Problem>().code, code, url);
  }
  const keyRefused = await guarded.app.inject({ method: 'GET', url: '/read-all-for-keys', headers: bareKey });
  t.match(keyRefused.json<Problem>(), { detail: /An API key needs the scope orders:read:all/ });
  t.match(keyRefused.headers['www-authenticate'], /error="insufficient_scope", error_description="requires orders:read:all"/);
});

t.test('the realm is configurable', async (t) => {
  const key = await generateSigningKey();
  const jwks = await startJwksServer(t, [key.jwk]);
  const { app } = await buildVerifyingApp(t, jwksKeys(jwks.url), { realm: 'catalog' });
  const response = await app.inject({ method: 'GET', url: '/me' });
  t.equal(response.headers['www-authenticate'], 'Bearer realm="catalog"');
});

t.test('when the JWKS cannot be fetched: 503 AUTH_KEYS_UNAVAILABLE, not 401, not 500', async (t) => {
  const key = await generateSigningKey();
  const token = await signToken(key);

  t.test('nothing listens', async (t) => {
    const { app, logs } = await buildVerifyingApp(t, jwksKeys(await deadUrl()));
    const response = await app.inject({ method: 'GET', url: '/me', headers: bearer(token) });
    t.equal(response.statusCode, 503);
    t.equal(response.headers['content-type'], 'application/problem+json');
    t.match(response.json<Problem>(), { code: 'AUTH_KEYS_UNAVAILABLE', status: 503 });
    t.equal(response.headers['retry-after'], '1');
    t.notOk(response.headers['www-authenticate'], 'the token was not judged');
    t.ok(logs.some((line) => line.msg === 'token verification keys unavailable' && line.level === 50), 'logged as an error');
  });

  for (const mode of ['error', 'garbage', 'hang'] as const) {
    t.test(`the JWKS endpoint answers ${mode}`, async (t) => {
      const jwks = await startJwksServer(t, [key.jwk]);
      jwks.mode = mode;
      const { app } = await buildVerifyingApp(t, jwksKeys(jwks.url, 30_000, 300));
      const response = await app.inject({ method: 'GET', url: '/me', headers: bearer(token) });
      t.equal(response.statusCode, 503, mode);
      t.equal(response.json<Problem>().code, 'AUTH_KEYS_UNAVAILABLE');
    });
  }

  t.test('keys already fetched keep working while the JWKS is down', async (t) => {
    const jwks = await startJwksServer(t, [key.jwk]);
    const { app } = await buildVerifyingApp(t, jwksKeys(jwks.url));
    t.equal((await app.inject({ method: 'GET', url: '/me', headers: bearer(token) })).statusCode, 200);
    await jwks.close();
    t.equal((await app.inject({ method: 'GET', url: '/me', headers: bearer(token) })).statusCode, 200);
  });
});
