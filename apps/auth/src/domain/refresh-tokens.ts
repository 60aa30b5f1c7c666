import { randomUUID } from 'node:crypto';
import { withTransaction } from '@shop/db';
import { AppError } from '@shop/service-kit';
import { IsNull, type DataSource, type EntityManager } from 'typeorm';
import { RefreshTokenEntity, UserEntity, type UserRow } from '../database';
import { hashSecret, newSecret } from './secrets';

const REFRESH_TOKEN_PREFIX = 'rt_';

/** Starts a new family (a login) or continues one (a rotation) with a fresh opaque token. */
export async function issueRefreshToken(
  manager: EntityManager,
  options: { userId: string; ttlSeconds: number; familyId?: string },
): Promise<string> {
  const token = newSecret(REFRESH_TOKEN_PREFIX);
  await manager.getRepository(RefreshTokenEntity).insert({
    familyId: options.familyId ?? randomUUID(),
    userId: options.userId,
    tokenHash: hashSecret(token),
    expiresAt: new Date(Date.now() + options.ttlSeconds * 1000),
  });
  return token;
}

type RotationOutcome =
  | { kind: 'rotated'; user: UserRow; refreshToken: string }
  | { kind: 'reused' }
  | { kind: 'invalid' };

/**
 * Exchanges a refresh token for its successor. Each token works once: presenting a used one
 * again means it was stolen (or the client is confused), so the whole family is revoked,
 * the newest token included, and the caller must log in again.
 */
export async function rotateRefreshToken(db: DataSource, token: string, ttlSeconds: number): Promise<{ user: UserRow; refreshToken: string }> {
  const outcome = await withTransaction(db, async (manager): Promise<RotationOutcome> => {
    const tokens = manager.getRepository(RefreshTokenEntity);
    // The row lock makes concurrent uses of one token line up: the second sees it used.
    const row = await tokens.findOne({ where: { tokenHash: hashSecret(token) }, lock: { mode: 'pessimistic_write' } });
    if (!row || row.revokedAt !== null) return { kind: 'invalid' };
    if (row.usedAt !== null) {
      await tokens.update({ familyId: row.familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
      return { kind: 'reused' };
    }
    if (row.expiresAt.getTime() <= Date.now()) return { kind: 'invalid' };
    const user = await manager.getRepository(UserEntity).findOneBy({ id: row.userId });
    if (!user) return { kind: 'invalid' };
    await tokens.update({ id: row.id }, { usedAt: new Date() });
    const refreshToken = await issueRefreshToken(manager, { userId: row.userId, familyId: row.familyId, ttlSeconds });
    return { kind: 'rotated', user, refreshToken };
  });
  if (outcome.kind === 'rotated') return outcome;
  throw new AppError(
    'AUTH_INVALID_REFRESH_TOKEN',
    outcome.kind === 'reused' ? 'This refresh token was already used; every session it belongs to is now signed out' : 'Log in again',
  );
}

/** Logout: the token's whole family stops working. Unknown tokens are ignored (nothing to reveal). */
export async function revokeRefreshTokenFamily(db: DataSource, token: string): Promise<void> {
  const tokens = db.getRepository(RefreshTokenEntity);
  const row = await tokens.findOneBy({ tokenHash: hashSecret(token) });
  if (!row) return;
  await tokens.update({ familyId: row.familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
}
