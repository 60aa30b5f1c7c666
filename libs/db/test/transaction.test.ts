import t from 'tap';
import { afterCommit, createDataSource, isPgError, PgErrorCodes, runMigrations, withTransaction } from '../src/index';
import { createTestDatabase, NoteEntity, notesSchema } from './helper';

t.test('transactions and Postgres errors', async (t) => {
  const url = await createTestDatabase(t, 'transaction');
  await runMigrations({ url, ...notesSchema });
  const dataSource = createDataSource({ url, ...notesSchema });
  await dataSource.initialize();
  t.teardown(() => dataSource.destroy());
  const notes = dataSource.getRepository(NoteEntity);

  t.test('withTransaction commits when the work resolves', async (t) => {
    const result = await withTransaction(dataSource, async (manager) => {
      await manager.getRepository(NoteEntity).insert({ title: 'committed 1' });
      await manager.getRepository(NoteEntity).insert({ title: 'committed 2' });
      return 'done';
    });
    t.equal(result, 'done', 'and returns what the work returned');
    t.equal(await notes.countBy({}), 2);
  });

  t.test('withTransaction rolls everything back when the work throws', async (t) => {
    const before = await notes.count();
    const failure = new Error('business rule broken');
    await t.rejects(
      withTransaction(dataSource, async (manager) => {
        await manager.getRepository(NoteEntity).insert({ title: 'rolled back' });
        t.equal(await manager.getRepository(NoteEntity).countBy({ title: 'rolled back' }), 1, 'visible inside');
        t.equal(await notes.countBy({ title: 'rolled back' }), 0, 'invisible outside before commit');
        throw failure;
      }),
      failure,
      'the very error is rethrown',
    );
    t.equal(await notes.count(), before, 'nothing was written');
  });

  t.test('a failed statement rolls back the statements before it', async (t) => {
    await notes.insert({ title: 'taken' });
    const before = await notes.count();
    const error = await withTransaction(dataSource, async (manager) => {
      await manager.getRepository(NoteEntity).insert({ title: 'first of two' });
      await manager.getRepository(NoteEntity).insert({ title: 'taken' });
    }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    t.ok(isPgError(error, PgErrorCodes.UNIQUE_VIOLATION), 'a unique violation');
    t.ok(isPgError(error, PgErrorCodes.UNIQUE_VIOLATION, 'notes_title_key'), 'on the constraint named');
    t.notOk(isPgError(error, PgErrorCodes.UNIQUE_VIOLATION, 'other_key'), 'not on another constraint');
    t.notOk(isPgError(error, PgErrorCodes.FOREIGN_KEY_VIOLATION), 'not another code');
    t.equal(await notes.count(), before);
  });

  t.test('the isolation level is applied', async (t) => {
    const levels = {
      'READ COMMITTED': 'read committed',
      'REPEATABLE READ': 'repeatable read',
      SERIALIZABLE: 'serializable',
    } as const;
    for (const [level, shown] of Object.entries(levels)) {
      const [row] = await withTransaction(dataSource, (manager) => manager.query('SHOW transaction_isolation'), level as keyof typeof levels);
      t.equal(row.transaction_isolation, shown, level);
    }
    const [row] = await withTransaction(dataSource, (manager) => manager.query('SHOW transaction_isolation'));
    t.equal(row.transaction_isolation, 'read committed', 'READ COMMITTED by default');
  });

  t.test('isPgError recognises driver errors directly and tolerates anything', async (t) => {
    const raw = await dataSource.query("INSERT INTO notes (title) VALUES ('taken')").then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
    t.ok(isPgError(raw, '23505', 'notes_title_key'));
    t.ok(isPgError((raw as { driverError: unknown }).driverError, '23505', 'notes_title_key'), 'the pg error itself');
    for (const value of [undefined, null, 'text', 42, new Error('plain'), {}]) {
      t.notOk(isPgError(value, '23505'), String(value));
    }
  });
});

t.test('afterCommit runs once the outermost transaction commits, never after a rollback', async (t) => {
  const url = await createTestDatabase(t, 'after_commit');
  const dataSource = createDataSource({ url, entities: [], migrations: [] });
  await dataSource.initialize();
  t.teardown(() => dataSource.destroy());
  const ran: string[] = [];
  await withTransaction(dataSource, async (manager) => {
    afterCommit(manager, () => ran.push('committed'));
    await manager.transaction(async (inner) => afterCommit(inner, () => ran.push('nested')));
    t.same(ran, [], 'not before the outermost commit');
  });
  t.same(ran, ['committed', 'nested']);
  await t.rejects(
    withTransaction(dataSource, async (manager) => {
      afterCommit(manager, () => ran.push('rolled back'));
      throw new Error('abort');
    }),
  );
  await withTransaction(dataSource, async () => undefined);
  t.same(ran, ['committed', 'nested'], 'a rolled-back transaction runs nothing, and leaves nothing for the next');
  t.throws(() => afterCommit(dataSource.manager, () => undefined), /open transaction/);
});
