import { randomBytes } from 'node:crypto';
import { EntitySchema, type MigrationInterface, type QueryRunner } from 'typeorm';
import { dropDatabase, ensureDatabase } from '../src/index';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A server where tests may create databases (the same variable as @shop/testing reads). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function testDatabaseUrl(label: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/test_db_${label}_${randomBytes(4).toString('hex')}`;
  return url.toString();
}

/**
 * A fresh, empty database for this test, dropped when it ends. @shop/testing has the same
 * helper, but it is built on this lib: importing it here would make db and testing depend on
 * each other (a cycle Nx refuses), so the lib's tests use its own admin functions directly.
 */
export async function createTestDatabase(t: Teardown, label: string): Promise<string> {
  const url = testDatabaseUrl(label);
  await ensureDatabase(url);
  t.teardown(() => dropDatabase(url));
  return url;
}

export interface Note {
  id: string;
  title: string;
  createdAt: Date;
}

export const NoteEntity = new EntitySchema<Note>({
  name: 'Note',
  tableName: 'notes',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    title: { type: 'text' },
    createdAt: { name: 'created_at', type: 'timestamptz', precision: 3, createDate: true },
  },
});

/** Known to TypeORM but created by no migration: proves `synchronize` is off. */
export const GhostEntity = new EntitySchema<{ id: string }>({
  name: 'Ghost',
  tableName: 'ghosts',
  columns: { id: { type: 'uuid', primary: true, generated: 'uuid' } },
});

export class CreateNotes1700000000000 implements MigrationInterface {
  name = 'CreateNotes1700000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE notes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        title text NOT NULL CONSTRAINT notes_title_key UNIQUE,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX notes_created_at_id_idx ON notes (created_at, id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE notes`);
  }
}

export class AddNoteBody1700000000001 implements MigrationInterface {
  name = 'AddNoteBody1700000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE notes ADD COLUMN body text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE notes DROP COLUMN body`);
  }
}

export const notesSchema = { entities: [NoteEntity], migrations: [CreateNotes1700000000000] };
