import pg from 'pg';
import t from 'tap';
import { countDeadLetters } from '../src/index';
import { allAppliedOnce, createHarness, placeOrders, unpublishedCount, waitFor } from './helper';

/** Makes the test's database refuse every connection, and cuts the ones open: an outage for this service only. */
async function databaseOutage(databaseUrl: string) {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const adminUrl = new URL(databaseUrl);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  const identifier = pg.escapeIdentifier(name);
  return {
    async begin() {
      await admin.query(`ALTER DATABASE ${identifier} WITH ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
    },
    async end() {
      await admin.query(`ALTER DATABASE ${identifier} WITH ALLOW_CONNECTIONS true`);
    },
    close: () => admin.end(),
  };
}

t.test('a database outage neither dead-letters events nor loses them', async (t) => {
  const harness = await createHarness(t, 'events-db-outage');
  const outage = await databaseOutage(harness.databaseUrl);
  t.teardown(async () => {
    await outage.end();
    await outage.close();
  });
  const relay = harness.relay();
  relay.start();
  const ids = await placeOrders(harness.dataSource, 5);
  await waitFor('published', async () => (await unpublishedCount(harness.dataSource)) === 0);

  await outage.begin();
  // Few deliveries allowed and quick reclaims: had failures while the database is away counted, these would be dead letters.
  harness.consumer({ maxDeliveries: 2, claimIdleMs: 100 }).start();
  await waitFor('the consumer to wait for the database', () =>
    harness.logger.lines.filter((line) => line.message === 'database unavailable; retrying').length >= 5,
  );
  await waitFor('the relay to notice too', () => harness.logger.lines.some((line) => line.message === 'outbox relay could not publish; retrying'));
  await outage.end();

  await waitFor('every event applied', () => allAppliedOnce(harness.dataSource, ids), 20_000);
  t.equal(await countDeadLetters(harness.dataSource, 'catalog'), 0, 'nothing dead-lettered');
  const more = await placeOrders(harness.dataSource, 2);
  await waitFor('the relay publishing again', () => allAppliedOnce(harness.dataSource, more));
});
