import { randomUUID } from 'node:crypto';
import { createTestTokenIssuer } from '@shop/testing';
import t from 'tap';
import { InvalidTokenError, VerifiedTokenCache } from '../src/index';

t.test('remembers a verified token until it expires, and only verified ones', async (t) => {
  const issuer = await createTestTokenIssuer();
  let now = Date.now();
  let lookups = 0;
  const countingKeys: typeof issuer.verificationKeys = (header, token) => {
    lookups += 1;
    return issuer.verificationKeys(header, token);
  };
  const cache = new VerifiedTokenCache({ keys: countingKeys, issuer: issuer.issuer, audience: issuer.audience, algorithms: ['EdDSA'] }, 2, () => now);
  const userId = randomUUID();
  const token = await issuer.tokenFor({ userId, ttlSeconds: 60 });

  t.match(await cache.verify(token), { userId });
  t.match(await cache.verify(token), { userId });
  t.equal(lookups, 1, 'the second use is a lookup, not a verification');

  now += 61_000;
  await cache.verify(token);
  t.equal(lookups, 2, 'past its exp the entry is gone and the token is verified afresh');

  const refusal = () => cache.verify(token.slice(0, -4) + 'AAAA').then(() => null, (error: unknown) => error);
  t.ok((await refusal()) instanceof InvalidTokenError);
  t.ok((await refusal()) instanceof InvalidTokenError);
  t.equal(lookups, 4, 'refusals are not remembered: each is verified again');

  now = Date.now();
  for (let index = 0; index < 3; index += 1) await cache.verify(await issuer.tokenFor({}));
  t.equal(cache.size, 2, 'bounded: the oldest entry goes first');
});
