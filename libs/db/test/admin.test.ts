import pg from 'pg';
import t from 'tap';
import { dropDatabase, ensureDatabase } from '../src/index';
import { TEST_DATABASE_URL, testDatabaseUrl } from './helper';

async function databaseExists(url: string): Promise<boolean> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

t.test('ensureDatabase creates a database once and is idempotent', async (t) => {
  const url = testDatabaseUrl('ensure');
  t.teardown(() => dropDatabase(url));
  t.notOk(await databaseExists(url));
  await ensureDatabase(url);
  t.ok(await databaseExists(url));

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE kept (id int)');
  await client.query('INSERT INTO kept VALUES (1)');
  await client.end();

  await ensureDatabase(url);
  const again = new pg.Client({ connectionString: url });
  await again.connect();
  const { rows } = await again.query('SELECT id FROM kept');
  await again.end();
  t.same(rows, [{ id: 1 }], 'a second call leaves the existing database alone');
});

t.test('ensureDatabase called by several processes at once', async (t) => {
  const url = testDatabaseUrl('ensure_race');
  t.teardown(() => dropDatabase(url));
  await Promise.all(Array.from({ length: 4 }, () => ensureDatabase(url)));
  t.ok(await databaseExists(url), 'one creates it, the others find it: none fails');
});

t.test('names that need quoting', async (t) => {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${encodeURIComponent(`test_db Quoted "name" ${process.pid}`)}`;
  t.teardown(() => dropDatabase(url.toString()));
  await ensureDatabase(url.toString());
  t.ok(await databaseExists(url.toString()));
  await dropDatabase(url.toString());
  t.notOk(await databaseExists(url.toString()));
});

t.test('dropDatabase drops a database that still has open connections', async (t) => {
  const url = testDatabaseUrl('drop');
  await ensureDatabase(url);
  const holders = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
  const ended: Promise<unknown>[] = [];
  for (const holder of holders) {
    await holder.connect();
    // The server ends these sessions: their 'error' must not crash the test.
    holder.on('error', () => undefined);
    ended.push(new Promise((resolve) => holder.once('end', resolve)));
  }
  await holders[0]!.query('BEGIN');
  await holders[0]!.query('CREATE TABLE busy (id int)');

  await dropDatabase(url);
  t.notOk(await databaseExists(url), 'dropped');
  await Promise.all(ended);
  t.pass('the sessions that held it were closed');

  await dropDatabase(url);
  t.pass('dropping a database that does not exist is fine');
});
