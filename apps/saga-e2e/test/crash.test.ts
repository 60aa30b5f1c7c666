import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import t from 'tap';
import { queryDatabase, Saga, waitFor, type Order } from './helper';

type PendingEntry = [id: string, consumer: string, idleMs: number, deliveries: number];

t.test('a catalog killed between its commit and its XACK: another replica claims its entries and applies each once', async (t) => {
  const saga = await Saga.build(t);
  const product = await saga.createProduct(10, 300);
  // The in-process catalog steps aside, so the doomed one gets every entry.
  await saga.catalog.close();
  const orders: Order[] = [];
  for (let index = 0; index < 4; index += 1) orders.push(await saga.placeOrder([{ productId: product.id, quantity: 1 }]));
  await waitFor('four placements on events:orders', async () => (await saga.redis.xlen('events:orders')) === 4);

  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/catalog-dies-before-ack.ts', import.meta.url))], {
    env: {
      ...process.env,
      DATABASE_URL: saga.catalogEnv.DATABASE_URL,
      REDIS_URL: saga.redisUrl,
      REDIS_KEY_PREFIX: saga.prefix,
      EVENTS_CONSUMER_NAME: 'doomed',
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig])));
  t.equal(signal, 'SIGKILL', `the catalog died at its first acknowledgement ${stderr}`);

  // The four were read together, so they were applied in one transaction, which committed before the XACK.
  const processed = await queryDatabase<{ count: number }>(saga.catalogEnv.DATABASE_URL, `SELECT count(*)::int AS count FROM processed_events`);
  t.equal(processed[0]!.count, 4, 'the events it read had committed');
  const [stored] = await queryDatabase<{ stock: number }>(saga.catalogEnv.DATABASE_URL, `SELECT stock FROM products WHERE id = $1`, [product.id]);
  t.equal(stored?.stock, 6, 'with their stock movements');
  const pending = (await saga.redis.xpending('events:orders', 'catalog', '-', '+', 100)) as PendingEntry[];
  t.same(pending.map(([, consumer]) => consumer), ['doomed', 'doomed', 'doomed', 'doomed'], 'everything it read is pending with it, none acknowledged');

  // A replica under another name: it claims the entries once they have idled for claimIdleMs.
  saga.catalog = await saga.startCatalog('survivor');
  await waitFor('every order to settle', async () => [...(await saga.orderStatuses()).values()].every((status) => status !== 'pending'));
  t.same([...(await saga.orderStatuses()).values()], ['confirmed', 'confirmed', 'confirmed', 'confirmed']);
  await waitFor('nothing pending', async () => ((await saga.redis.xpending('events:orders', 'catalog', '-', '+', 100)) as PendingEntry[]).length === 0);
  t.equal(await saga.storedStock(product.id), 6, 'four units taken, each once');
  const [{ count: reservations }] = await saga.catalog.db.query(`SELECT count(*)::int AS count FROM stock_reservations`);
  t.equal(reservations, 4);
  const [{ count: answers }] = await saga.catalog.db.query(`SELECT count(*)::int AS count FROM outbox WHERE type = 'stock.reserved.v1'`);
  t.equal(answers, 4, 'one answer per order: the re-reads of the committed events were skipped');
  t.equal(orders.length, 4);
});

t.test('orders\' relay stopped midway: the next instance publishes the rest, nothing lost or doubled', async (t) => {
  const saga = await Saga.build(t);
  const product = await saga.createProduct(100, 250);
  const unpublished = async () => ((await saga.orders.db.query(`SELECT count(*)::int AS count FROM outbox WHERE published_at IS NULL`)) as { count: number }[])[0]!.count;

  // Every relay on orders' database takes this lock per batch: holding it holds them all back.
  const relayLock = new pg.Client({ connectionString: saga.ordersEnv.DATABASE_URL });
  const rowLock = new pg.Client({ connectionString: saga.ordersEnv.DATABASE_URL });
  await relayLock.connect();
  await rowLock.connect();
  t.teardown(() => Promise.all([relayLock.end(), rowLock.end()]));
  await relayLock.query(`SELECT pg_advisory_lock(hashtext('@shop/events:outbox-relay'))`);
  const placed: Order[] = [];
  for (let index = 0; index < 20; index += 1) placed.push(await saga.placeOrder([{ productId: product.id, quantity: 1 }]));
  t.equal(await unpublished(), 20, 'all twenty wait in the outbox');

  // The last ten rows are held, as a relay busy with them would hold them: the relay publishes the first ten only.
  await rowLock.query('BEGIN');
  await rowLock.query(`SELECT position FROM outbox WHERE published_at IS NULL ORDER BY position DESC LIMIT 10 FOR UPDATE`);
  await relayLock.query(`SELECT pg_advisory_unlock(hashtext('@shop/events:outbox-relay'))`);
  await waitFor('the first ten published', async () => (await unpublished()) === 10);
  await waitFor('the first ten settled', async () => {
    const statuses = await saga.orderStatuses();
    return placed.slice(0, 10).every((order) => statuses.get(order.id) === 'confirmed');
  });

  await saga.orders.close();
  await rowLock.query('ROLLBACK');
  t.equal((await queryDatabase<{ count: number }>(saga.ordersEnv.DATABASE_URL, `SELECT count(*)::int AS count FROM outbox WHERE published_at IS NULL`))[0]!.count, 10, 'stopped with ten left');

  saga.orders = await saga.startOrders('orders-1');
  await waitFor('every order to settle', async () => [...(await saga.orderStatuses()).values()].every((status) => status !== 'pending'));
  const statuses = await saga.orderStatuses();
  t.ok(placed.every((order) => statuses.get(order.id) === 'confirmed'), 'all twenty confirmed');
  // A confirmation appends order.confirmed in its own transaction: the relay publishes it just after.
  await waitFor('the outbox published', async () => (await unpublished()) === 0);
  const onStream = (await saga.redis.xrange('events:orders', '-', '+')).map(([, fields]) => fields[fields.indexOf('id') + 1]);
  const inOutbox: { event_id: string; type: string }[] = await saga.orders.db.query(`SELECT event_id, type FROM outbox ORDER BY position`);
  t.same([...onStream].sort(), inOutbox.map((row) => row.event_id).sort(), 'each event on the stream once');
  // The relay skips rows another holds (here the test's lock), so confirmations appended meanwhile
  // overtake the held placements; the placements keep their order among themselves.
  const placements = new Set(inOutbox.filter((row) => row.type === 'order.placed.v1').map((row) => row.event_id));
  t.same(onStream.filter((id) => id !== undefined && placements.has(id)), [...placements], 'the placements in outbox order');
  t.equal(await saga.storedStock(product.id), 80);
  await waitFor('the catalog API to agree', async () => (await saga.stockOf(product.id)) === 80, 1_000);
  const [{ count }] = await saga.catalog.db.query(`SELECT count(*)::int AS count FROM stock_reservations WHERE state = 'reserved'`);
  t.equal(count, 20);
});
