import { connect, createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import t from 'tap';
import { dropDatabase, ensureDatabase, waitForDatabase } from '../src/index';
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

/** A free local port, and a TCP relay to the test server on it that can be opened later. */
async function lateRelay(t: { teardown(fn: () => unknown): void }) {
  const target = new URL(TEST_DATABASE_URL);
  const relay = createServer((socket) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  t.teardown(() => new Promise((resolve) => relay.close(resolve)));
  const url = new URL(TEST_DATABASE_URL);
  url.host = `127.0.0.1:${port}`;
  return { url: url.toString(), open: () => new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve)) };
}

t.test('waitForDatabase waits for a server that is not there yet, and for no longer than told', async (t) => {
  await waitForDatabase(TEST_DATABASE_URL, { timeoutMs: 5_000 });
  t.pass('a reachable server answers at once');

  const late = await lateRelay(t);
  const waits: Error[] = [];
  const started = Date.now();
  setTimeout(() => void late.open(), 700);
  await waitForDatabase(late.url, { timeoutMs: 10_000, intervalMs: 100, onWait: (error) => waits.push(error) });
  t.ok(Date.now() - started >= 700, 'it resolved only once the server was there');
  t.match(waits, [{ code: 'ECONNREFUSED' }], 'the first refusal is reported once, not every retry');

  const never = await lateRelay(t);
  const givenUp = Date.now();
  await t.rejects(waitForDatabase(never.url, { timeoutMs: 600, intervalMs: 100 }), { code: 'ECONNREFUSED' });
  t.ok(Date.now() - givenUp < 3_000, 'it gives up after its timeout');
});

t.test('waitForDatabase does not retry what waiting cannot fix', async (t) => {
  const missing = testDatabaseUrl('never_created');
  const started = Date.now();
  await t.rejects(waitForDatabase(missing, { timeoutMs: 30_000 }), { code: '3D000' }, 'a database that does not exist');
  t.ok(Date.now() - started < 5_000, 'at once, not after the timeout');
});
