import { probeUntil } from '@shop/testing';
import t from 'tap';
import { bearer, buildVerifyingApp, generateSigningKey, jwksKeys, signToken, startJwksServer } from './helper';

t.test('the JWKS is fetched once and cached', async (t) => {
  const key = await generateSigningKey();
  const jwks = await startJwksServer(t, [key.jwk]);
  const { app } = await buildVerifyingApp(t, jwksKeys(jwks.url));
  t.equal(jwks.requests, 0, 'not fetched before the first token');
  for (let index = 0; index < 5; index += 1) {
    const response = await app.inject({ method: 'GET', url: '/me', headers: bearer(await signToken(key)) });
    t.equal(response.statusCode, 200);
  }
  t.equal(jwks.requests, 1);
});

t.test('unknown kids cannot make the verifier hammer the JWKS', async (t) => {
  const key = await generateSigningKey();
  const stranger = await generateSigningKey();
  const jwks = await startJwksServer(t, [key.jwk]);
  const { app } = await buildVerifyingApp(t, jwksKeys(jwks.url, 60_000));
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: bearer(await signToken(key)) })).statusCode, 200);
  t.equal(jwks.requests, 1);

  const forged = await signToken(stranger);
  const responses = await Promise.all(Array.from({ length: 20 }, () => app.inject({ method: 'GET', url: '/me', headers: bearer(forged) })));
  t.ok(
    responses.every((response) => response.statusCode === 401),
    'every one is refused',
  );
  t.equal(jwks.requests, 1, 'and none refetched the JWKS within the cooldown');
});

t.test('a rotated key is picked up after the cooldown, with one refetch', async (t) => {
  const cooldownMs = 1_000;
  const oldKey = await generateSigningKey();
  const newKey = await generateSigningKey();
  const jwks = await startJwksServer(t, [oldKey.jwk]);
  const { app } = await buildVerifyingApp(t, jwksKeys(jwks.url, cooldownMs));

  t.equal((await app.inject({ method: 'GET', url: '/me', headers: bearer(await signToken(oldKey)) })).statusCode, 200);
  t.equal(jwks.requests, 1);

  // Auth rotates: the new key signs, the old one is still published for tokens in flight.
  jwks.keys = [newKey.jwk, oldKey.jwk];
  const fresh = await signToken(newKey);
  const early = await app.inject({ method: 'GET', url: '/me', headers: bearer(fresh) });
  t.equal(early.statusCode, 401, 'within the cooldown the new kid is unknown');

  let attempts = 0;
  const accepted = await probeUntil(async () => {
    attempts += 1;
    const response = await app.inject({ method: 'GET', url: '/me', headers: bearer(fresh) });
    return response.statusCode === 200;
  }, Boolean, 10_000);
  t.ok(accepted, 'the new key is accepted once the cooldown has passed');
  t.ok(attempts > 1, `it took several attempts (${attempts})`);
  t.equal(jwks.requests, 2, 'with exactly one refetch, however many attempts came first');
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: bearer(await signToken(oldKey)) })).statusCode, 200, 'the old key still verifies');

  // A burst of unknown kids once the cooldown is over again: the fetches are shared, one at most.
  const stranger = await generateSigningKey();
  const forged = await signToken(stranger);
  const before = jwks.requests;
  t.ok(
    await probeUntil(async () => {
      await Promise.all(Array.from({ length: 10 }, () => app.inject({ method: 'GET', url: '/me', headers: bearer(forged) })));
      return jwks.requests > before;
    }, Boolean, 10_000),
    'after the cooldown an unknown kid refetches',
  );
  t.equal(jwks.requests, before + 1, 'once for the whole burst');
});
