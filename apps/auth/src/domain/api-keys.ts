import { ScopesOfRole, type ApiKey, type ApiKeyCreateBody, type ApiKeyCreated, type Scope } from '@shop/contracts';
import { pageByCreation, type KeysetPage } from '@shop/db';
import { AppError } from '@shop/service-kit';
import { IsNull, type DataSource } from 'typeorm';
import { ApiKeyEntity, UserEntity, type ApiKeyRow, type UserRow } from '../database';
import { hashSecret, newSecret } from './secrets';
import { assertStillAdmin } from './users';

const API_KEY_PREFIX = 'sk_';

export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}

/**
 * Creates a key. The secret is returned this once; only its hash is kept. The key is tied to its
 * creator, who must be an admin now: it will never carry more than the creator may do.
 */
export async function createApiKey(db: DataSource, body: ApiKeyCreateBody, createdBy: string): Promise<ApiKeyCreated> {
  await assertStillAdmin(db.manager, createdBy);
  const key = newSecret(API_KEY_PREFIX);
  const row = await db.getRepository(ApiKeyEntity).save({
    name: body.name.trim(),
    scopes: body.scopes,
    keyHash: hashSecret(key),
    createdBy,
  });
  return { id: row.id, name: row.name, scopes: row.scopes, key, createdAt: row.createdAt.toISOString() };
}

export function listApiKeys(db: DataSource, page: { limit: number; cursor?: string | undefined }): Promise<KeysetPage<ApiKeyRow>> {
  const query = db.getRepository(ApiKeyEntity).createQueryBuilder('k').where('k.revoked_at IS NULL');
  return pageByCreation(query, page);
}

/** Revokes a key at once; a revoked or unknown key is a 404. */
export async function revokeApiKey(db: DataSource, id: string): Promise<void> {
  const result = await db.getRepository(ApiKeyEntity).update({ id, revokedAt: IsNull() }, { revokedAt: new Date() });
  if (!result.affected) throw new AppError('AUTH_API_KEY_NOT_FOUND');
}

export interface AuthenticatedApiKey {
  key: ApiKeyRow;
  creator: UserRow;
  /** What the key may do now: its scopes that its creator still holds. */
  effectiveScopes: Scope[];
}

/**
 * The live key behind a presented secret, with what it may do now, or an error. A key acts for
 * its creator: it never carries more than the creator currently may (its scopes ∩ the creator's
 * role's), and it stops working while the creator is disabled or gone. Records when it was last used.
 */
export async function authenticateApiKey(db: DataSource, presented: string): Promise<AuthenticatedApiKey> {
  const keys = db.getRepository(ApiKeyEntity);
  const key = await keys.findOneBy({ keyHash: hashSecret(presented), revokedAt: IsNull() });
  if (!key) throw new AppError('AUTH_API_KEY_INVALID', 'The API key is unknown or revoked');
  const creator = key.createdBy === null ? null : await db.getRepository(UserEntity).findOneBy({ id: key.createdBy });
  if (!creator || creator.disabledAt !== null) {
    throw new AppError('AUTH_API_KEY_INVALID', "The API key's creator is disabled or no longer exists");
  }
  await keys.update({ id: key.id }, { lastUsedAt: new Date() });
  const creatorScopes = new Set<Scope>(ScopesOfRole[creator.role]);
  return { key, creator, effectiveScopes: key.scopes.filter((scope) => creatorScopes.has(scope)) };
}
