import pg from 'pg';
import t from 'tap';
import { createDataSource, runMigrations } from '../src/index';
import { AddNoteBody1700000000001, createTestDatabase, CreateNotes1700000000000, GhostEntity, NoteEntity, notesSchema } from './helper';

async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

t.test('runMigrations applies each migration once', async (t) => {
  const url = await createTestDatabase(t, 'migrations');

  t.same(await runMigrations({ url, ...notesSchema }), ['CreateNotes1700000000000']);
  t.same(await runMigrations({ url, ...notesSchema }), [], 'a second run applies nothing');

  const withNext = { url, entities: [NoteEntity], migrations: [CreateNotes1700000000000, AddNoteBody1700000000001] };
  t.same(await runMigrations(withNext), ['AddNoteBody1700000000001'], 'only the new one');
  t.same(await runMigrations(withNext), []);

  const recorded = await query<{ name: string }>(url, 'SELECT name FROM typeorm_migrations ORDER BY id');
  t.same(
    recorded.map((row) => row.name),
    ['CreateNotes1700000000000', 'AddNoteBody1700000000001'],
  );
  const columns = await query<{ column_name: string; datetime_precision: number | null }>(
    url,
    "SELECT column_name, datetime_precision FROM information_schema.columns WHERE table_name = 'notes' ORDER BY ordinal_position",
  );
  t.same(
    columns.map((column) => column.column_name),
    ['id', 'title', 'created_at', 'body'],
  );
  t.equal(columns.find((column) => column.column_name === 'created_at')?.datetime_precision, 3);
});

t.test('runs started together take turns: one applies, the others find nothing to do', async (t) => {
  const url = await createTestDatabase(t, 'concurrent');
  const runs = await Promise.allSettled(Array.from({ length: 3 }, () => runMigrations({ url, ...notesSchema })));
  t.ok(
    runs.every((run) => run.status === 'fulfilled'),
    'none fails',
  );
  const applied = runs.map((run) => (run.status === 'fulfilled' ? run.value : ['failed']));
  t.same(applied.flat(), ['CreateNotes1700000000000'], 'the migration was applied exactly once');
});

t.test('a failing migration leaves nothing behind and is retried next time', async (t) => {
  const url = await createTestDatabase(t, 'failing');
  class Broken1700000000002 {
    name = 'Broken1700000000002';
    async up(queryRunner: { query(sql: string): Promise<unknown> }) {
      await queryRunner.query('CREATE TABLE half_done (id int)');
      await queryRunner.query('SELECT * FROM no_such_table');
    }
    async down() {}
  }
  await t.rejects(runMigrations({ url, entities: [NoteEntity], migrations: [CreateNotes1700000000000, Broken1700000000002] }));
  const tables = await query<{ table_name: string }>(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
  t.same(
    tables.map((row) => row.table_name),
    ['notes', 'typeorm_migrations'],
    'the first migration committed, the broken one rolled back whole',
  );
  t.same(await runMigrations({ url, ...notesSchema }), [], 'what did commit is not applied again');
});

t.test('synchronize is off: the schema only changes through migrations', async (t) => {
  const url = await createTestDatabase(t, 'nosync');
  const dataSource = createDataSource({ url, entities: [NoteEntity, GhostEntity], migrations: [] });
  t.equal(dataSource.options.synchronize, false);
  t.equal(dataSource.options.migrationsRun, false);
  await dataSource.initialize();
  t.teardown(() => dataSource.destroy());
  const tables = await dataSource.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
  t.same(tables, [], 'initialising created no table for any entity, nor ran a migration');
});

t.test('pooled connections time out runaway statements', async (t) => {
  const url = await createTestDatabase(t, 'pool');
  const dataSource = createDataSource({ url, ...notesSchema, poolSize: 2 });
  await dataSource.initialize();
  t.teardown(() => dataSource.destroy());
  const [setting] = await dataSource.query('SHOW statement_timeout');
  t.equal(setting.statement_timeout, '15s');

  const impatient = createDataSource({ url, ...notesSchema, statementTimeoutMs: 200 });
  await impatient.initialize();
  t.teardown(() => impatient.destroy());
  await t.rejects(impatient.query('SELECT pg_sleep(5)'), { message: /statement timeout/ }, 'a runaway statement is cancelled');
});

t.test('migrations are not cut short by the statement timeout', async (t) => {
  const url = await createTestDatabase(t, 'slow_migration');
  class Slow1700000000003 {
    name = 'Slow1700000000003';
    async up(queryRunner: { query(sql: string): Promise<{ statement_timeout: string }[]> }) {
      const [row] = await queryRunner.query('SHOW statement_timeout');
      if (row?.statement_timeout !== '0') throw new Error(`statement_timeout is ${row?.statement_timeout}`);
    }
    async down() {}
  }
  t.same(await runMigrations({ url, entities: [], migrations: [Slow1700000000003] }), ['Slow1700000000003']);
});
