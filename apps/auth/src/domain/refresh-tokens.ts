import { randomUUID } from 'node:crypto';
import { withTransaction } from '@shop/db';
import { AppError } from '@shop/service-kit';
import { IsNull, type DataSource, type EntityManager } from 'typeorm';
import { RefreshTokenEntity, UserEntity, type UserRow } from '../database';
import { hashSecret, newSecret } from './secrets';

const REFRESH_TOKEN_PREFIX = 'rt_';

export interface IssuedRefreshToken {
  refreshToken: string;
  /** The session: access tokens minted with this family carry it as `sid`, and die when it is revoked. */
  familyId: string;
}

/** Starts a new family (a login) or continues one (a rotation) with a fresh opaque token. */
export async function issueRefreshToken(
  manager: EntityManager,
  options: { userId: string; ttlSeconds: number; familyId?: string },
): Promise<IssuedRefreshToken> {
  const refreshToken = newSecret(REFRESH_TOKEN_PREFIX);
  const familyId = options.familyId ?? randomUUID();
  await manager.getRepository(RefreshTokenEntity).insert({
    familyId,
    userId: options.userId,
    tokenHash: hashSecret(refreshToken),
    expiresAt: new Date(Date.now() + options.ttlSeconds * 1000),
  });
  return { refreshToken, familyId };
}

type RotationOutcome =
  | { kind: 'rotated'; user: UserRow; issued: IssuedRefreshToken }
  | { kind: 'reused'; familyId: string }
  | { kind: 'disabled' }
  | { kind: 'invalid' };

/**
 * Exchanges a refresh token for its successor. Each token works once: presenting a used one
 * again means it was stolen (or the client is confused), so the whole family is revoked,
 * the newest token included, and the caller must log in again.
 */
export async function rotateRefreshToken(
  db: DataSource,
  token: string,
  ttlSeconds: number,
  onFamilyRevoked: (familyId: string) => Promise<void>,
): Promise<{ user: UserRow; issued: IssuedRefreshToken }> {
  const outcome = await withTransaction(db, async (manager): Promise<RotationOutcome> => {
    const tokens = manager.getRepository(RefreshTokenEntity);
    // The row lock makes concurrent uses of one token line up: the second sees it used.
    const row = await tokens.findOne({ where: { tokenHash: hashSecret(token) }, lock: { mode: 'pessimistic_write' } });
    if (!row || row.revokedAt !== null) return { kind: 'invalid' };
    if (row.usedAt !== null) {
      await tokens.update({ familyId: row.familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
      return { kind: 'reused', familyId: row.familyId };
    }
    if (row.expiresAt.getTime() <= Date.now()) return { kind: 'invalid' };
    const user = await manager.getRepository(UserEntity).findOneBy({ id: row.userId });
    if (!user) return { kind: 'invalid' };
    if (user.disabledAt !== null) return { kind: 'disabled' };
    await tokens.update({ id: row.id }, { usedAt: new Date() });
    const issued = await issueRefreshToken(manager, { userId: row.userId, familyId: row.familyId, ttlSeconds });
    return { kind: 'rotated', user, issued };
  });
  if (outcome.kind === 'rotated') return outcome;
  if (outcome.kind === 'disabled') throw new AppError('AUTH_ACCOUNT_DISABLED');
  // The stolen family's access tokens die too, not only its refresh tokens.
  if (outcome.kind === 'reused') await onFamilyRevoked(outcome.familyId);
  throw new AppError(
    'AUTH_INVALID_REFRESH_TOKEN',
    outcome.kind === 'reused' ? 'This refresh token was already used; every session it belongs to is now signed out' : 'Log in again',
  );
}

/**
 * Logout: the token's whole family stops working, and so do the access tokens minted from it
 * (their `sid`). Unknown tokens are ignored (nothing to reveal). Returns the family, if any.
 */
export async function revokeRefreshTokenFamily(db: DataSource, token: string): Promise<string | null> {
  const tokens = db.getRepository(RefreshTokenEntity);
  const row = await tokens.findOneBy({ tokenHash: hashSecret(token) });
  if (!row) return null;
  await tokens.update({ familyId: row.familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
  return row.familyId;
}

/** Every session of a user ends (the account was disabled): re-enabling it does not revive them. */
export async function revokeAllSessionsOf(manager: EntityManager, userId: string): Promise<void> {
  await manager.getRepository(RefreshTokenEntity).update({ userId, revokedAt: IsNull() }, { revokedAt: new Date() });
}
