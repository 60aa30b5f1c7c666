import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, type JWK, type JWTVerifyGetKey } from 'jose';

export type SigningAlgorithm = 'EdDSA' | 'ES256';

export interface PublishedKey extends JWK {
  kty: string;
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
}

export interface SigningKeys {
  algorithm: SigningAlgorithm;
  kid: string;
  privateKey: KeyObject;
  /** Public keys, current first, as `/.well-known/jwks.json` serves them. */
  published: PublishedKey[];
  /** Verifies tokens against the published keys (auth verifies its own tokens with these). */
  verificationKeys: JWTVerifyGetKey;
  /** True when no key was configured and a throw-away development key was generated. */
  generated: boolean;
}

export class SigningKeyError extends Error {}

/**
 * Loads the signing key (PEM or JWK, Ed25519 or P-256) and the optional previous public key, so a
 * rotation publishes both until every token signed by the old one has expired.
 */
export async function loadSigningKeys(source: { privateKey?: string | undefined; previousPublicKey?: string | undefined }): Promise<SigningKeys> {
  const generated = source.privateKey === undefined;
  const privateKey = generated ? generateKeyPairSync('ed25519').privateKey : parseKey(source.privateKey!, 'private');
  const current = await publish(createPublicKey(privateKey));
  const published = [current];
  if (source.previousPublicKey !== undefined) {
    const previous = await publish(parseKey(source.previousPublicKey, 'public'));
    if (previous.kid !== current.kid) published.push(previous);
  }
  return {
    algorithm: current.alg,
    kid: current.kid,
    privateKey,
    published,
    verificationKeys: createLocalJWKSet({ keys: published }),
    generated,
  };
}

/**
 * DEV ONLY: the signing key kept in `file`, generated there (Ed25519, PKCS#8 PEM, mode 0600) when
 * it does not exist yet, so a local stack's tokens survive a restarted or recreated auth. The key is
 * written to a temporary name and linked into place, which fails if another instance got there
 * first: every instance ends up with the same, complete key.
 */
export function keptDevelopmentKey(file: string): { pem: string; created: boolean } {
  const existing = readIfPresent(file);
  if (existing !== undefined) return { pem: existing, created: false };
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, pem, { mode: 0o600, flag: 'wx' });
    linkSync(temporary, file);
    return { pem, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { pem: readFileSync(file, 'utf8'), created: false };
    throw new SigningKeyError(`cannot keep a development key in ${file}: ${(error as Error).message}`, { cause: error });
  } finally {
    rmSync(temporary, { force: true });
  }
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SigningKeyError(`cannot read the development key in ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function parseKey(text: string, kind: 'private' | 'public'): KeyObject {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as JWK;
      return kind === 'private' ? createPrivateKey({ key: jwk as never, format: 'jwk' }) : createPublicKey({ key: jwk as never, format: 'jwk' });
    }
    // A private PEM also yields its public half, so either may stand for the previous key.
    return kind === 'private' ? createPrivateKey(trimmed) : createPublicKey(trimmed);
  } catch (error) {
    throw new SigningKeyError(`the ${kind} signing key is neither a PEM nor a JWK this service can read`, { cause: error });
  }
}

function algorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new SigningKeyError(`signing keys must be Ed25519 or P-256, not ${key.asymmetricKeyType ?? 'unknown'}`);
}

async function publish(publicKey: KeyObject): Promise<PublishedKey> {
  const alg = algorithmOf(publicKey);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kty: jwk.kty ?? 'OKP', kid, alg, use: 'sig' };
}
