import { Type, type Static } from '@sinclair/typebox';
import { PageSchema, TimestampSchema, UuidSchema } from './common';

export const Roles = ['customer', 'admin'] as const;
export const RoleSchema = Type.Union(Roles.map((role) => Type.Literal(role)));
export type Role = Static<typeof RoleSchema>;

export const Scopes = ['catalog:write', 'orders:read:all', 'users:admin'] as const;
export const ScopeSchema = Type.Union(Scopes.map((scope) => Type.Literal(scope)));
export type Scope = Static<typeof ScopeSchema>;

/** What each role may do. A customer may still place, read and cancel their own orders. */
export const ScopesOfRole: Record<Role, readonly Scope[]> = {
  customer: [],
  admin: Scopes,
};

/** Access tokens minted for an API key carry this role: the key is not a user. */
export const API_KEY_ROLE = 'service';

export const EmailSchema = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
export const PasswordSchema = Type.String({ minLength: 8, maxLength: 128 });

export const RegisterBodySchema = Type.Object(
  {
    email: EmailSchema,
    password: PasswordSchema,
    name: Type.String({ minLength: 1, maxLength: 100 }),
  },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBodySchema>;

export const UserSchema = Type.Object(
  {
    id: UuidSchema,
    email: Type.String(),
    name: Type.String(),
    role: RoleSchema,
    createdAt: TimestampSchema,
  },
  { $id: 'User' },
);
export type User = Static<typeof UserSchema>;

/** A user as administrators see them (`GET /v1/users`, `PATCH /v1/users/{id}`): with the account's state. */
export const ManagedUserSchema = Type.Object(
  {
    id: UuidSchema,
    email: Type.String(),
    name: Type.String(),
    role: RoleSchema,
    disabled: Type.Boolean({ description: 'A disabled account cannot log in, refresh, or use any token or API key it holds' }),
    createdAt: TimestampSchema,
  },
  { $id: 'ManagedUser' },
);
export type ManagedUser = Static<typeof ManagedUserSchema>;
export const UserPageSchema = PageSchema(ManagedUserSchema, { $id: 'UserPage' });

export const LoginBodySchema = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBodySchema>;

export const TokenPairSchema = Type.Object(
  {
    accessToken: Type.String(),
    refreshToken: Type.String(),
    tokenType: Type.Literal('Bearer'),
    expiresIn: Type.Integer({ description: 'Seconds until the access token expires' }),
  },
  { $id: 'TokenPair' },
);
export type TokenPair = Static<typeof TokenPairSchema>;

export const RefreshBodySchema = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 2048 }) },
  { additionalProperties: false },
);
export type RefreshBody = Static<typeof RefreshBodySchema>;

export const JwksSchema = Type.Object(
  {
    keys: Type.Array(
      Type.Object(
        { kty: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.String() },
        { additionalProperties: true },
      ),
    ),
  },
  { $id: 'Jwks' },
);
export type Jwks = Static<typeof JwksSchema>;

export const ApiKeyCreateBodySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    scopes: Type.Array(ScopeSchema, { uniqueItems: true, maxItems: Scopes.length }),
  },
  { additionalProperties: false },
);
export type ApiKeyCreateBody = Static<typeof ApiKeyCreateBodySchema>;

export const ApiKeySchema = Type.Object(
  {
    id: UuidSchema,
    name: Type.String(),
    scopes: Type.Array(ScopeSchema),
    createdAt: TimestampSchema,
    lastUsedAt: Type.Union([TimestampSchema, Type.Null()]),
  },
  { $id: 'ApiKey' },
);
export type ApiKey = Static<typeof ApiKeySchema>;
export const ApiKeyPageSchema = PageSchema(ApiKeySchema, { $id: 'ApiKeyPage' });

export const ApiKeyCreatedSchema = Type.Object(
  {
    id: UuidSchema,
    name: Type.String(),
    scopes: Type.Array(ScopeSchema),
    key: Type.String({ description: 'The secret. It is shown this once and never again.' }),
    createdAt: TimestampSchema,
  },
  { $id: 'ApiKeyCreated' },
);
export type ApiKeyCreated = Static<typeof ApiKeyCreatedSchema>;

/** `PATCH /v1/users/{id}`: change the role, disable or re-enable the account, or both at once. */
export const UserPatchSchema = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    disabled: Type.Optional(Type.Boolean({ description: 'true disables the account at once (within 5 seconds everywhere); false re-enables it' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UserPatch = Static<typeof UserPatchSchema>;

/** Internal (gateway → auth): an API key exchanged for a short-lived access token. */
export const ApiKeyExchangeResponseSchema = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer(),
});
export type ApiKeyExchangeResponse = Static<typeof ApiKeyExchangeResponseSchema>;

/**
 * The claims of an access token (RFC 9068 profile). `scope` is space-separated. The last three
 * tie the token to the authorization state it was minted from, which every verifier checks
 * (see the README, "Authorization freshness").
 */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  role: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
  /** The grant the token came from: the login session (refresh-token family) or the API key. */
  sid: string;
  /** The authorization version of the user whose rights the token carries, when it was minted. */
  ver: number;
  /** For an API key's token: the user who created the key, whose current rights bound the key's. */
  owner?: string;
}

/** The longest an access token may live; verifiers refuse a token whose `exp - iat` is longer. */
export const MAX_ACCESS_TOKEN_LIFETIME_SECONDS = 900;
export const ACCESS_TOKEN_TYPE = 'at+jwt';
