import type { DataSource } from 'typeorm';
import type { PasswordHasher } from './passwords';
import { normalizeEmail } from './users';

/**
 * Makes sure the configured first admin exists. Safe to run on every start and from several
 * replicas at once: an existing account is promoted if needed, and its password is left alone.
 */
export async function ensureBootstrapAdmin(db: DataSource, hasher: PasswordHasher, admin: { email: string; password: string }): Promise<'created' | 'promoted' | 'unchanged'> {
  const passwordHash = await hasher.hash(admin.password);
  const rows: { inserted: boolean }[] = await db.query(
    `INSERT INTO users (email, name, password_hash, role)
     VALUES ($1, 'Administrator', $2, 'admin')
     ON CONFLICT (email) DO UPDATE
       SET role = 'admin', authz_version = users.authz_version + 1, authz_changed_at = now(), updated_at = now()
       WHERE users.role <> 'admin'
     RETURNING (xmax = 0) AS inserted`,
    [normalizeEmail(admin.email), passwordHash],
  );
  const row = rows[0];
  if (!row) return 'unchanged';
  return row.inserted ? 'created' : 'promoted';
}
