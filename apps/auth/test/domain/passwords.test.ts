import t from 'tap';
import { PasswordHasher } from '../../src/domain/passwords';

const owaspMinimum = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

t.test('hashes with Argon2id at the configured parameters', async (t) => {
  const hasher = new PasswordHasher(owaspMinimum);
  const hash = await hasher.hash('a long passphrase');
  t.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  t.ok(await hasher.verify(hash, 'a long passphrase'));
  t.notOk(await hasher.verify(hash, 'another passphrase'));
  t.notOk(await hasher.verify('not a hash', 'a long passphrase'), 'a corrupt hash fails closed');
  t.notOk(hasher.needsRehash(hash));
  t.ok(new PasswordHasher({ ...owaspMinimum, timeCost: 3 }).needsRehash(hash), 'stronger parameters want a rehash');
  t.ok(hasher.needsRehash('$2b$10$abcdefghijklmnopqrstuv'), 'a foreign algorithm wants a rehash');
  t.equal(await hasher.verifyDecoy('anything'), false);
});
