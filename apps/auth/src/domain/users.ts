import type { RegisterBody, Role, User } from '@shop/contracts';
import { isPgError, pageByCreation, PgErrorCodes, withTransaction, type KeysetPage } from '@shop/db';
import { AppError } from '@shop/service-kit';
import type { DataSource } from 'typeorm';
import { UserEntity, type UserRow } from '../database';
import type { PasswordHasher } from './passwords';

/** Emails are compared case-insensitively: one person, one account. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function toUser(row: UserRow): User {
  return { id: row.id, email: row.email, name: row.name, role: row.role, createdAt: row.createdAt.toISOString() };
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

/** Changes a role. The last admin cannot be demoted: someone must be able to administer users. */
export async function changeRole(db: DataSource, id: string, role: Role): Promise<UserRow> {
  return withTransaction(db, async (manager) => {
    const users = manager.getRepository(UserEntity);
    // Locking every admin row serialises concurrent demotions, so two cannot each leave the other.
    const admins = await users.createQueryBuilder('u').where("u.role = 'admin'").setLock('pessimistic_write').getMany();
    const user = await users.findOneBy({ id });
    if (!user) throw new AppError('AUTH_USER_NOT_FOUND');
    if (user.role === role) return user;
    if (user.role === 'admin' && admins.length <= 1) {
      throw new AppError('AUTH_LAST_ADMIN', 'Promote another admin first');
    }
    user.role = role;
    return users.save(user);
  });
}
