import { createService } from '@shop/service-kit';
import t from 'tap';
import { dropDatabase, installDatabase, runMigrations } from '../src/index';
import { createTestDatabase, NoteEntity, notesSchema, testDatabaseUrl } from './helper';

async function buildApp() {
  return createService({ name: 'db-test', version: '1', description: 'db', logLevel: 'silent', trustProxy: false });
}

t.test('installDatabase exposes app.db, checks it for readiness and closes it with the app', async (t) => {
  const url = await createTestDatabase(t, 'plugin');
  await runMigrations({ url, ...notesSchema });
  const app = await buildApp();
  const dataSource = await installDatabase(app, { url, ...notesSchema });
  t.teardown(() => app.close());

  t.equal(app.db, dataSource);
  t.ok(dataSource.isInitialized, 'connected before the app starts');
  await app.db.getRepository(NoteEntity).insert({ title: 'through app.db' });
  t.equal(await app.db.getRepository(NoteEntity).count(), 1);

  const ready = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready', checks: { database: 'ok' } });

  await app.close();
  t.notOk(dataSource.isInitialized, 'the pool is closed with the app');
});

t.test('a database that does not exist fails at start, not at the first request', async (t) => {
  const app = await buildApp();
  t.teardown(() => app.close());
  await t.rejects(installDatabase(app, { url: testDatabaseUrl('missing'), ...notesSchema }), { message: /does not exist/ });
});

t.test('readiness fails, without hanging, when the database goes away', async (t) => {
  const url = await createTestDatabase(t, 'plugin_gone');
  const app = await buildApp();
  await installDatabase(app, { url, ...notesSchema });
  t.teardown(() => app.close());
  t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200);

  await dropDatabase(url);
  const response = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(response.statusCode, 503);
  t.match(response.json(), { code: 'SERVICE_UNAVAILABLE', detail: /database/ });
});
