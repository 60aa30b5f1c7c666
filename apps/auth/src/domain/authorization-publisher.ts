import { MAX_ACCESS_TOKEN_LIFETIME_SECONDS } from '@shop/contracts';
import { publishGrantRevoked, publishUserAuthorization } from '@shop/token-verifier';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity, RefreshTokenEntity, UserEntity, type UserRow } from '../database';

/**
 * How long a record stays in Redis: the longest a token may live (verifiers refuse longer ones),
 * plus a margin for clock differences. After that, no token it could refuse is still alive.
 */
export const AUTHORIZATION_RECORD_TTL_SECONDS = MAX_ACCESS_TOKEN_LIFETIME_SECONDS + 60;
const RETRY_MS = 1_000;

/**
 * Auth writes every change of anyone's rights to Redis, where every verifier looks (the
 * database stays the source of truth). Each change is published right after its commit. If
 * that write fails (Redis down or unreachable from here), or Redis comes back from a restart
 * without its data, every change younger than the records' lifetime is published again from
 * the database: on every (re)connection, and every second while a publication is owed.
 * Verifiers meanwhile cannot confirm anything, so they refuse privileged tokens.
 */
export class AuthorizationPublisher {
  #owed = false;
  #retry: NodeJS.Timeout | undefined;
  #republishing: Promise<void> | null = null;
  readonly #onReady = () => void this.republishRecent();

  constructor(
    private readonly db: DataSource,
    private readonly redis: Redis,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    this.redis.on('ready', this.#onReady);
    if (this.redis.status === 'ready') void this.republishRecent();
  }

  stop(): void {
    this.redis.off('ready', this.#onReady);
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  /** After a commit that changed the user's role, disabled or re-enabled them. */
  async userChanged(user: Pick<UserRow, 'id' | 'authzVersion' | 'disabledAt'>): Promise<void> {
    await this.#attempt(() =>
      publishUserAuthorization(this.redis, user.id, { version: user.authzVersion, disabled: user.disabledAt !== null }, AUTHORIZATION_RECORD_TTL_SECONDS),
    );
  }

  /** After a commit that signed a session out (a refresh-token family) or revoked an API key. */
  async grantRevoked(grantId: string): Promise<void> {
    await this.#attempt(() => publishGrantRevoked(this.redis, grantId, AUTHORIZATION_RECORD_TTL_SECONDS));
  }

  /** Every change younger than a record's lifetime, from the database. */
  republishRecent(): Promise<void> {
    this.#republishing ??= this.#republish().finally(() => (this.#republishing = null));
    return this.#republishing;
  }

  async #republish(): Promise<void> {
    try {
      const since = new Date(Date.now() - AUTHORIZATION_RECORD_TTL_SECONDS * 1000);
      const users = await this.db
        .getRepository(UserEntity)
        .createQueryBuilder('u')
        .select(['u.id', 'u.authzVersion', 'u.disabledAt'])
        .where('u.authz_changed_at > :since', { since })
        .getMany();
      const families = await this.db
        .getRepository(RefreshTokenEntity)
        .createQueryBuilder('r')
        .select('DISTINCT r.family_id', 'familyId')
        .where('r.revoked_at > :since', { since })
        .getRawMany<{ familyId: string }>();
      const keys = await this.db.getRepository(ApiKeyEntity).createQueryBuilder('k').select(['k.id']).where('k.revoked_at > :since', { since }).getMany();
      const ttl = AUTHORIZATION_RECORD_TTL_SECONDS;
      await Promise.all([
        ...users.map((user) => publishUserAuthorization(this.redis, user.id, { version: user.authzVersion, disabled: user.disabledAt !== null }, ttl)),
        ...families.map(({ familyId }) => publishGrantRevoked(this.redis, familyId, ttl)),
        ...keys.map((key) => publishGrantRevoked(this.redis, key.id, ttl)),
      ]);
      this.#owed = false;
      this.log.info({ users: users.length, sessions: families.length, apiKeys: keys.length }, 'recent authorization changes published');
    } catch (error) {
      this.log.warn({ err: error }, 'could not publish recent authorization changes; retrying');
      this.#owe();
    }
  }

  async #attempt(publish: () => Promise<void>): Promise<void> {
    try {
      await publish();
    } catch (error) {
      this.log.warn({ err: error }, 'could not publish an authorization change; it will be republished');
      this.#owe();
    }
  }

  #owe(): void {
    this.#owed = true;
    if (this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#owed) void this.republishRecent();
    }, RETRY_MS);
    this.#retry.unref();
  }
}
