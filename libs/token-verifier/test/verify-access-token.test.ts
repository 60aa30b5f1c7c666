import { randomUUID } from 'node:crypto';
import { createLocalJWKSet } from 'jose';
import t from 'tap';
import { InvalidTokenError, KeysUnavailableError, verifyAccessToken, type AccessTokenPolicy } from '../src/index';
import { AUDIENCE, deadUrl, generateSigningKey, ISSUER, jwksKeys, signToken } from './helper';

t.test('verifyAccessToken', async (t) => {
  const key = await generateSigningKey();
  const policy: AccessTokenPolicy = { keys: createLocalJWKSet({ keys: [key.jwk] }), issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'] };

  t.test('returns the principal of a valid token', async (t) => {
    const userId = randomUUID();
    const jti = randomUUID();
    const owner = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const principal = await verifyAccessToken(
      await signToken(key, { claims: { sub: userId, role: 'service', scope: 'orders:read:all', jti, sid: userId, ver: 3, owner, iat: now, exp: now + 60 } }),
      policy,
    );
    t.same(principal, {
      userId,
      role: 'service',
      scopes: ['orders:read:all'],
      tokenId: jti,
      kind: 'api-key',
      ownerId: owner,
      grantId: userId,
      authzVersion: 3,
      expiresAtMs: (now + 60) * 1000,
    });
    const legacy = await verifyAccessToken(await signToken(key, { claims: { sub: userId } }), policy);
    t.match(legacy, { kind: 'user', ownerId: userId, grantId: null, authzVersion: 0 }, 'a token minted before sid and ver: its own owner, version 0');
    const noScope = await verifyAccessToken(await signToken(key, { omit: ['scope'] }), policy);
    t.same(noScope.scopes, [], 'a token without scope has none');
    const typMediaType = await verifyAccessToken(await signToken(key, { header: { typ: 'application/at+jwt' } }), policy);
    t.equal(typMediaType.role, 'customer', 'RFC 9068 allows the full media type');
  });

  t.test('names the reason of a refusal', async (t) => {
    const now = Math.floor(Date.now() / 1000);
    const reasons: [string, Promise<string>, RegExp][] = [
      ['expired', signToken(key, { claims: { iat: now - 3600, exp: now - 60 } }), /expired/],
      ['audience', signToken(key, { claims: { aud: 'urn:other' } }), /aud/],
      ['issuer', signToken(key, { claims: { iss: 'urn:other' } }), /iss/],
      ['type', signToken(key, { header: { typ: 'JWT' } }), /typ/],
      ['jti', signToken(key, { omit: ['jti'] }), /jti/],
      ['signature', signToken(await generateSigningKey()), /unknown key/],
      ['a 10-year exp', signToken(key, { claims: { iat: now, exp: now + 10 * 365 * 24 * 3600 } }), /longer than 900 seconds/],
      ['one second over the cap', signToken(key, { claims: { iat: now, exp: now + 901 } }), /longer than 900 seconds/],
      ['issued in the future', signToken(key, { claims: { iat: now + 3600, exp: now + 3600 + 60 } }), /future/],
      ['a negative version', signToken(key, { claims: { ver: -1 } }), /ver/],
      ['an owner on a user token', signToken(key, { claims: { owner: randomUUID() } }), /owner/],
    ];
    for (const [name, token, reason] of reasons) {
      const error = await verifyAccessToken(await token, policy).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      t.ok(error instanceof InvalidTokenError, `${name}: InvalidTokenError`);
      t.match((error as Error).message, reason, name);
    }
  });

  t.test('the lifetime cap is configurable and exact', async (t) => {
    const now = Math.floor(Date.now() / 1000);
    const capped = { ...policy, maxLifetimeSeconds: 60 };
    t.resolves(verifyAccessToken(await signToken(key, { claims: { iat: now, exp: now + 60 } }), capped), 'exactly the cap is accepted');
    await t.rejects(verifyAccessToken(await signToken(key, { claims: { iat: now, exp: now + 61 } }), capped), /longer than 60 seconds/);
  });

  t.test('a key source that fails is KeysUnavailableError, not the token’s fault', async (t) => {
    const unreachable = { ...policy, keys: jwksKeys(await deadUrl()) };
    const error = await verifyAccessToken(await signToken(key), unreachable).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    t.ok(error instanceof KeysUnavailableError);
    t.notOk(error instanceof InvalidTokenError);
  });
});
