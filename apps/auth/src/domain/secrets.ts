import { createHash, randomBytes } from 'node:crypto';

/** A new high-entropy secret (256 bits), URL-safe, with a prefix that says what it is. */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/**
 * Secrets are stored only as hashes. They carry 256 bits of entropy, so a fast hash is enough
 * (unlike passwords) and lets a presented secret be looked up by its hash.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}
