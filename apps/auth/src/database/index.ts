import { ApiKeyEntity, RefreshTokenEntity, UserEntity } from './entities';
import { CreateAuthSchema1763712000000 } from './migrations/1763712000000-create-auth-schema';
import { AddAuthorizationState1764300000000 } from './migrations/1764300000000-add-authorization-state';

export * from './entities';

/** Everything TypeORM needs to know about auth's own database. */
export const authSchema = {
  entities: [UserEntity, RefreshTokenEntity, ApiKeyEntity],
  migrations: [CreateAuthSchema1763712000000, AddAuthorizationState1764300000000],
};
