import { hash, parseOptions, verify } from '@node-rs/argon2';

export interface Argon2Parameters {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** Argon2id is @node-rs/argon2's default algorithm; its numeric id in parsed hashes. */
const ARGON2ID = 2;

/**
 * Argon2id password hashing at the configured cost. Keeps a hash of a random password around so
 * a login for an unknown email costs the same as one for a known email.
 */
export class PasswordHasher {
  readonly #parameters: Argon2Parameters;
  readonly #decoy: Promise<string>;

  constructor(parameters: Argon2Parameters) {
    this.#parameters = parameters;
    this.#decoy = this.hash(crypto.randomUUID());
  }

  hash(password: string): Promise<string> {
    return hash(password, { ...this.#parameters, outputLen: 32 });
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false;
    }
  }

  /** Spends the time a real verification would, and always fails. */
  async verifyDecoy(password: string): Promise<false> {
    await this.verify(await this.#decoy, password);
    return false;
  }

  /** True when the hash was made with other parameters than today's (or another algorithm). */
  needsRehash(passwordHash: string): boolean {
    try {
      const used = parseOptions(passwordHash);
      return (
        Number(used.algorithm) !== ARGON2ID ||
        used.memoryCost !== this.#parameters.memoryCost ||
        used.timeCost !== this.#parameters.timeCost ||
        used.parallelism !== this.#parameters.parallelism
      );
    } catch {
      return true;
    }
  }
}
