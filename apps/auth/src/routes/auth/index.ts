import { AUTH_OPERATIONS, ScopesOfRole, type TokenPair } from '@shop/contracts';
import { withTransaction } from '@shop/db';
import { AppError, registerOperations } from '@shop/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { UserRow } from '../../database';
import { issueRefreshToken, revokeRefreshTokenFamily, rotateRefreshToken, type IssuedRefreshToken } from '../../domain/refresh-tokens';
import { findUserByEmail, findUserById, normalizeEmail, registerUser, toUser, updatePasswordHash } from '../../domain/users';
import type { AuthServices } from '../../services';

/** Register, log in, rotate and revoke refresh tokens, and say who the caller is. */
const authRoutes: FastifyPluginAsyncTypebox<{ services: AuthServices }> = async (app, { services }) => {
  const { config, db, hasher, accessTokens, loginThrottle, authorization } = services;

  async function tokenPairFor(user: UserRow, { refreshToken, familyId }: IssuedRefreshToken): Promise<TokenPair> {
    const { accessToken, expiresIn } = await accessTokens.issue({
      id: user.id,
      role: user.role,
      scopes: ScopesOfRole[user.role],
      grantId: familyId,
      authzVersion: user.authzVersion,
    });
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn };
  }

  registerOperations(app, AUTH_OPERATIONS, {
    register: {
      handler: async (request, reply) => {
        const user = await registerUser(db, hasher, request.body);
        return reply.code(201).send(toUser(user));
      },
    },

    login: {
      handler: async (request, reply) => {
        const email = normalizeEmail(request.body.email);
        await loginThrottle.admit(email, request.ip);
        const user = await findUserByEmail(db, email);
        // Unknown email and wrong password cost the same time and answer the same body.
        const valid = user ? await hasher.verify(user.passwordHash, request.body.password) : await hasher.verifyDecoy(request.body.password);
        if (!user || !valid) {
          await loginThrottle.recordFailure(email, request.ip);
          throw new AppError('AUTH_INVALID_CREDENTIALS');
        }
        await loginThrottle.recordSuccess(email, request.ip);
        // Only past the right password: a disabled account is not revealed to anyone guessing.
        if (user.disabledAt !== null) throw new AppError('AUTH_ACCOUNT_DISABLED', 'This account is disabled; ask an administrator');
        if (hasher.needsRehash(user.passwordHash)) {
          await updatePasswordHash(db, user.id, await hasher.hash(request.body.password));
          request.log.info({ userId: user.id }, 'password rehashed with the current parameters');
        }
        const issued = await withTransaction(db, (manager) => issueRefreshToken(manager, { userId: user.id, ttlSeconds: config.REFRESH_TOKEN_TTL_SECONDS }));
        return reply.header('cache-control', 'no-store').send(await tokenPairFor(user, issued));
      },
    },

    refreshTokens: {
      handler: async (request, reply) => {
        const { user, issued } = await rotateRefreshToken(db, request.body.refreshToken, config.REFRESH_TOKEN_TTL_SECONDS, (familyId) =>
          authorization.grantRevoked(familyId),
        );
        return reply.header('cache-control', 'no-store').send(await tokenPairFor(user, issued));
      },
    },

    logout: {
      handler: async (request, reply) => {
        const familyId = await revokeRefreshTokenFamily(db, request.body.refreshToken);
        if (familyId !== null) await authorization.grantRevoked(familyId);
        return reply.code(204).send(null);
      },
    },

    getMe: {
      handler: async (request) => {
        const user = await findUserById(db, request.principal!.userId);
        if (!user) throw new AppError('AUTH_USER_NOT_FOUND', 'The token does not belong to a user');
        return toUser(user);
      },
    },
  });
};

export default authRoutes;
