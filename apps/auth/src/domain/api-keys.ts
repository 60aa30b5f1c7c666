import type { ApiKey, ApiKeyCreateBody, ApiKeyCreated } from '@shop/contracts';
import { pageByCreation, type KeysetPage } from '@shop/db';
import { AppError } from '@shop/service-kit';
import { IsNull, type DataSource } from 'typeorm';
import { ApiKeyEntity, type ApiKeyRow } from '../database';
import { hashSecret, newSecret } from './secrets';

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

/** Creates a key. The secret is returned this once; only its hash is kept. */
export async function createApiKey(db: DataSource, body: ApiKeyCreateBody, createdBy: string): Promise<ApiKeyCreated> {
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

/** The live key behind a presented secret, or an error. Records when it was last used. */
export async function authenticateApiKey(db: DataSource, key: string): Promise<ApiKeyRow> {
  const keys = db.getRepository(ApiKeyEntity);
  const row = await keys.findOneBy({ keyHash: hashSecret(key), revokedAt: IsNull() });
  if (!row) throw new AppError('AUTH_API_KEY_INVALID', 'The API key is unknown or revoked');
  await keys.update({ id: row.id }, { lastUsedAt: new Date() });
  return row;
}
