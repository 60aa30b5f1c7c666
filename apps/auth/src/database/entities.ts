import { EntitySchema } from 'typeorm';
import type { Role, Scope } from '@shop/contracts';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  role: Role;
  /** Set while the account is disabled: no login, no refresh, no token or key of it works. */
  disabledAt: Date | null;
  /** Bumped on every change of the user's rights; tokens carry the version they were minted at. */
  authzVersion: number;
  authzChangedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface RefreshTokenRow {
  id: string;
  /** Every token descended from one login shares a family; reuse of any revokes them all. */
  familyId: string;
  userId: string;
  tokenHash: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

export interface ApiKeyRow {
  id: string;
  name: string;
  scopes: Scope[];
  keyHash: string;
  createdBy: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const timestamp = (name: string, nullable = false) =>
  ({ type: 'timestamptz', precision: 3, name, nullable }) as const;

export const UserEntity = new EntitySchema<UserRow>({
  name: 'User',
  tableName: 'users',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    email: { type: 'text' },
    name: { type: 'text' },
    passwordHash: { type: 'text', name: 'password_hash' },
    role: { type: 'text' },
    disabledAt: timestamp('disabled_at', true),
    authzVersion: { type: 'integer', name: 'authz_version', default: 0 },
    authzChangedAt: timestamp('authz_changed_at', true),
    createdAt: { ...timestamp('created_at'), createDate: true },
    updatedAt: { ...timestamp('updated_at'), updateDate: true },
  },
});

export const RefreshTokenEntity = new EntitySchema<RefreshTokenRow>({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    familyId: { type: 'uuid', name: 'family_id' },
    userId: { type: 'uuid', name: 'user_id' },
    tokenHash: { type: 'text', name: 'token_hash' },
    expiresAt: timestamp('expires_at'),
    usedAt: timestamp('used_at', true),
    revokedAt: timestamp('revoked_at', true),
    createdAt: { ...timestamp('created_at'), createDate: true },
  },
});

export const ApiKeyEntity = new EntitySchema<ApiKeyRow>({
  name: 'ApiKey',
  tableName: 'api_keys',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    name: { type: 'text' },
    scopes: { type: 'text', array: true },
    keyHash: { type: 'text', name: 'key_hash' },
    createdBy: { type: 'uuid', name: 'created_by', nullable: true },
    createdAt: { ...timestamp('created_at'), createDate: true },
    lastUsedAt: timestamp('last_used_at', true),
    revokedAt: timestamp('revoked_at', true),
  },
});
