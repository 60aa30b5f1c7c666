import type { ManagedUser, RegisterBody, User, UserPatch } from '@shop/contracts';
import { isPgError, pageByCreation, PgErrorCodes, withTransaction, type KeysetPage } from '@shop/db';
import { AppError } from '@shop/service-kit';
import type { DataSource, EntityManager } from 'typeorm';
import { UserEntity, type UserRow } from '../database';
import type { PasswordHasher } from './passwords';
import { revokeAllSessionsOf } from './refresh-tokens';

/** Emails are compared case-insensitively: one person, one account. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function toUser(row: UserRow): User {
  return { id: row.id, email: row.email, name: row.name, role: row.role, createdAt: row.createdAt.toISOString() };
}

/** As administrators see a user: with the account's state. */
export function toManagedUser(row: UserRow): ManagedUser {
  return { ...toUser(row), disabled: row.disabledAt !== null };
}

export async function registerUser(db: DataSource, hasher: PasswordHasher, body: RegisterBody): Promise<UserRow> {
  const passwordHash = await hasher.hash(body.password);
  try {
    return await db.getRepository(UserEntity).save({
      email: normalizeEmail(body.email),
      name: body.name.trim(),
      passwordHash,
      role: 'customer',
    });
  } catch (error) {
    if (isPgError(error, PgErrorCodes.UNIQUE_VIOLATION, 'users_email_key')) {
      throw new AppError('AUTH_EMAIL_TAKEN', 'An account with this email already exists');
    }
    throw error;
  }
}

export function findUserById(db: DataSource, id: string): Promise<UserRow | null> {
  return db.getRepository(UserEntity).findOneBy({ id });
}

export function findUserByEmail(db: DataSource, email: string): Promise<UserRow | null> {
  return db.getRepository(UserEntity).findOneBy({ email: normalizeEmail(email) });
}

export async function updatePasswordHash(db: DataSource, id: string, passwordHash: string): Promise<void> {
  await db.getRepository(UserEntity).update({ id }, { passwordHash });
}

export function listUsers(db: DataSource, page: { limit: number; cursor?: string | undefined }): Promise<KeysetPage<UserRow>> {
  return pageByCreation(db.getRepository(UserEntity).createQueryBuilder('u'), page);
}

/**
 * The caller of an administrative change must hold `users:admin` now, not only when their token
 * was minted: checked on the locked rows, so a demoted admin racing the freshness cache (or
 * their own demotion) can never promote themselves back.
 */
export async function assertStillAdmin(manager: EntityManager, userId: string): Promise<void> {
  const actor = await manager.getRepository(UserEntity).findOneBy({ id: userId });
  if (!actor || actor.role !== 'admin' || actor.disabledAt !== null) {
    throw new AppError('AUTH_SCOPE_REQUIRED', 'This needs the scope users:admin, which the caller no longer holds');
  }
}

/**
 * Changes a role, disables or re-enables an account. Any effective change bumps the user's
 * authorization version, so every token minted before it stops working within seconds (see
 * `AuthorizationPublisher`); disabling also ends every session. The last enabled admin can be
 * neither demoted nor disabled: someone must be able to administer users.
 */
export async function updateUser(db: DataSource, actorId: string, id: string, patch: UserPatch): Promise<{ user: UserRow; changed: boolean }> {
  return withTransaction(db, async (manager) => {
    const users = manager.getRepository(UserEntity);
    // Locking every admin row serialises concurrent changes, so two admins cannot each remove the other.
    const admins = await users.createQueryBuilder('u').where("u.role = 'admin'").setLock('pessimistic_write').getMany();
    await assertStillAdmin(manager, actorId);
    const user = await users.findOneBy({ id });
    if (!user) throw new AppError('AUTH_USER_NOT_FOUND');
    const role = patch.role ?? user.role;
    const disabled = patch.disabled ?? user.disabledAt !== null;
    if (role === user.role && disabled === (user.disabledAt !== null)) return { user, changed: false };
    const staysEnabledAdmin = role === 'admin' && !disabled;
    const otherEnabledAdmins = admins.filter((admin) => admin.id !== user.id && admin.disabledAt === null);
    if (!staysEnabledAdmin && otherEnabledAdmins.length === 0) {
      throw new AppError('AUTH_LAST_ADMIN', 'Promote (or re-enable) another admin first');
    }
    if (disabled && user.disabledAt === null) await revokeAllSessionsOf(manager, user.id);
    user.role = role;
    user.disabledAt = disabled ? (user.disabledAt ?? new Date()) : null;
    user.authzVersion += 1;
    user.authzChangedAt = new Date();
    return { user: await users.save(user), changed: true };
  });
}
