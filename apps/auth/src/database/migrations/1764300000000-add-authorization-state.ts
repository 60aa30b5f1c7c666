import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the authorization freshness check needs from the source of truth: whether an account is
 * disabled, its authorization version (bumped on every change of its rights, carried by tokens
 * as `ver`), and when that last changed (so recent changes can be republished to Redis).
 */
export class AddAuthorizationState1764300000000 implements MigrationInterface {
  name = 'AddAuthorizationState1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE users
        ADD COLUMN disabled_at timestamptz(3),
        ADD COLUMN authz_version integer NOT NULL DEFAULT 0,
        ADD COLUMN authz_changed_at timestamptz(3)`);
    await queryRunner.query(`CREATE INDEX users_authz_changed_at_idx ON users (authz_changed_at) WHERE authz_changed_at IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX refresh_tokens_revoked_at_idx ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX api_keys_revoked_at_idx ON api_keys (revoked_at) WHERE revoked_at IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX api_keys_created_by_idx ON api_keys (created_by)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX api_keys_created_by_idx`);
    await queryRunner.query(`DROP INDEX api_keys_revoked_at_idx`);
    await queryRunner.query(`DROP INDEX refresh_tokens_revoked_at_idx`);
    await queryRunner.query(`DROP INDEX users_authz_changed_at_idx`);
    await queryRunner.query(`ALTER TABLE users DROP COLUMN authz_changed_at, DROP COLUMN authz_version, DROP COLUMN disabled_at`);
  }
}
