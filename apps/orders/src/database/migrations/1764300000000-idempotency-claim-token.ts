import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each claim of an idempotency key gets a token of its own. A claim is a lease renewed while its
 * request runs; should a request outlive its lease (a stalled process) and a retry take the key
 * over, the token tells the first request it lost the claim, so its work rolls back instead of
 * running twice. Rows from before carry none: their lease simply expires.
 */
export class IdempotencyClaimToken1764300000000 implements MigrationInterface {
  name = 'IdempotencyClaimToken1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE idempotency_keys ADD COLUMN claim_token uuid`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE idempotency_keys DROP COLUMN claim_token`);
  }
}
