// The auth service's public operations: accounts, tokens, API keys, user administration, JWKS.
import {
  ApiKeyCreateBodySchema,
  ApiKeyCreatedSchema,
  ApiKeyPageSchema,
  JwksSchema,
  LoginBodySchema,
  ManagedUserSchema,
  RefreshBodySchema,
  RegisterBodySchema,
  TokenPairSchema,
  UserPageSchema,
  UserPatchSchema,
  UserSchema,
} from '../auth';
import { IdParamsSchema, ListQuerySchema } from '../common';
import { ProblemSchema } from '../problem';
import { Access, defineOperations, noContent } from './operation';

const credentialProblems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 409: ProblemSchema, 429: ProblemSchema };
const adminProblems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema };

export const AUTH_OPERATIONS = defineOperations('auth', {
  register: {
    method: 'POST',
    path: '/v1/auth/register',
    tags: ['auth'],
    summary: 'Create an account (role: customer)',
    access: Access.anyone,
    rateLimit: 'login',
    schema: { body: RegisterBodySchema, response: { 201: UserSchema, ...credentialProblems } },
  },
  login: {
    method: 'POST',
    path: '/v1/auth/login',
    tags: ['auth'],
    summary: 'Exchange email and password for an access and a refresh token',
    access: Access.anyone,
    rateLimit: 'login',
    schema: { body: LoginBodySchema, response: { 200: TokenPairSchema, ...credentialProblems } },
  },
  refreshTokens: {
    method: 'POST',
    path: '/v1/auth/refresh',
    tags: ['auth'],
    summary: 'Rotate a refresh token: the old one dies, a new pair is issued',
    description: 'Presenting an already rotated token revokes its whole family, the newest token included.',
    access: Access.anyone,
    schema: { body: RefreshBodySchema, response: { 200: TokenPairSchema, ...credentialProblems } },
  },
  logout: {
    method: 'POST',
    path: '/v1/auth/logout',
    tags: ['auth'],
    summary: "Sign out: revoke a refresh token's family and the access tokens minted from it",
    description: 'Access tokens of the session stop working everywhere within 5 seconds (they carry its id as `sid`).',
    access: Access.anyone,
    schema: { body: RefreshBodySchema, response: { 204: noContent('Signed out'), 400: ProblemSchema } },
  },
  getMe: {
    method: 'GET',
    path: '/v1/auth/me',
    tags: ['auth'],
    summary: 'The signed-in user',
    access: Access.signedIn,
    schema: { response: { 200: UserSchema, 401: ProblemSchema, 404: ProblemSchema } },
  },
  getJwks: {
    method: 'GET',
    path: '/.well-known/jwks.json',
    tags: ['auth'],
    summary: 'Public keys that verify access tokens',
    access: Access.anyone,
    schema: { response: { 200: JwksSchema } },
  },

  createApiKey: {
    method: 'POST',
    path: '/v1/auth/api-keys',
    tags: ['api-keys'],
    summary: 'Create an API key; the secret is in this response only',
    description:
      'A key acts for its creator: it never carries more than the creator may do now (its scopes that the creator still ' +
      'holds), and stops working while the creator is disabled. A key is not a user: it may do only what its scopes grant ' +
      '(no scope, nothing but public reads; it never places orders).',
    access: Access.scopes('users:admin'),
    schema: { body: ApiKeyCreateBodySchema, response: { 201: ApiKeyCreatedSchema, ...adminProblems } },
  },
  listApiKeys: {
    method: 'GET',
    path: '/v1/auth/api-keys',
    tags: ['api-keys'],
    summary: 'List live API keys (without secrets)',
    access: Access.scopes('users:admin'),
    schema: { querystring: ListQuerySchema, response: { 200: ApiKeyPageSchema, ...adminProblems } },
  },
  revokeApiKey: {
    method: 'DELETE',
    path: '/v1/auth/api-keys/:id',
    tags: ['api-keys'],
    summary: 'Revoke an API key',
    description: 'The key, and every token exchanged for it, stops working within 5 seconds.',
    access: Access.scopes('users:admin'),
    schema: { params: IdParamsSchema, response: { 204: noContent('Revoked'), 404: ProblemSchema, ...adminProblems } },
  },

  listUsers: {
    method: 'GET',
    path: '/v1/users',
    tags: ['users'],
    summary: 'List users, oldest first',
    access: Access.scopes('users:admin'),
    schema: { querystring: ListQuerySchema, response: { 200: UserPageSchema, ...adminProblems } },
  },
  updateUser: {
    method: 'PATCH',
    path: '/v1/users/:id',
    tags: ['users'],
    summary: "Change a user's role, or disable or re-enable the account",
    description:
      'Takes application/json or application/merge-patch+json: `{"role": "customer"}`, `{"disabled": true}`, or both. ' +
      'Takes effect everywhere within 5 seconds: every token the user holds (and every API key they created) stops ' +
      'working or loses the rights it no longer has, and open WebSockets close. A disabled user cannot log in or refresh, ' +
      'and their sessions stay ended when they are re-enabled. The last enabled admin can be neither demoted nor disabled (409).',
    access: Access.scopes('users:admin'),
    schema: { params: IdParamsSchema, body: UserPatchSchema, response: { 200: ManagedUserSchema, 404: ProblemSchema, 409: ProblemSchema, ...adminProblems } },
  },
});
