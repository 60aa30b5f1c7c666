import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { listDeadLetters, Saga, waitFor } from './helper';

const run = promisify(execFile);
const repositoryRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** The operator's command, as `npx nx run <service>:dead-letters -- ...` runs it: a process of its own. */
async function deadLetters(service: 'catalog' | 'orders', env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', `apps/${service}/src/dead-letters.ts`, ...args], {
      cwd: repositoryRoot,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

t.test('an order the catalog could not reserve (its schema broken) settles once the cause is fixed and the operator re-drives it', async (t) => {
  const saga = await Saga.build(t, { catalog: { EVENTS_MAX_DELIVERIES: '2' } });
  const product = await saga.createProduct(5, 700);
  const catalogEnv = { DATABASE_URL: saga.catalogEnv.DATABASE_URL, REDIS_URL: saga.redisUrl, REDIS_KEY_PREFIX: saga.prefix };

  // A release that dropped a table the reservation needs: every delivery of the order fails.
  await saga.catalog.db.query(`ALTER TABLE stock_reservations RENAME TO stock_reservations_moved`);
  const order = await saga.placeOrder([{ productId: product.id, quantity: 2 }]);
  let letters = await listDeadLetters(saga.catalog.db, 'catalog');
  await waitFor('the order in the catalog dead letters', async () => (letters = await listDeadLetters(saga.catalog.db, 'catalog')).length === 1);
  const [letter] = letters;
  t.match(letter, { eventType: 'order.placed.v1', reason: 'handler_failed', deliveries: 2, detail: /stock_reservations/ });
  t.equal((await saga.getOrder(order.id)).status, 'pending', 'the order waits');

  const refused = await deadLetters('catalog', catalogEnv, 'redrive', letter!.id);
  t.equal(refused.code, 65, 'a re-drive before the fix is refused');
  t.match(refused.stderr, /failed again: .*stock_reservations/);

  await saga.catalog.db.query(`ALTER TABLE stock_reservations_moved RENAME TO stock_reservations`);
  const redriven = await deadLetters('catalog', catalogEnv, 'redrive', letter!.id);
  t.equal(redriven.code, 0, redriven.stderr);
  t.match(redriven.stdout, /re-driven: applied/);
  const settled = await saga.settled(order.id);
  t.match(settled, { status: 'confirmed', totalCents: 1_400 }, 'the running services finish the saga: the answer went out through the outbox');
  t.equal(await saga.storedStock(product.id), 3, 'stock taken once');

  t.match((await listDeadLetters(saga.catalog.db, 'catalog', { includeResolved: true }))[0], { id: letter!.id, resolution: 'redriven' });
  // Each command is a process of its own (a few seconds under tsx): the refusals of a second
  // re-drive and the command's other verbs are covered in libs/events, in process.
  t.match(await deadLetters('orders', { DATABASE_URL: saga.ordersEnv.DATABASE_URL }, 'list'), { code: 0, stdout: /^0 dead letter\(s\) of orders waiting\n$/ }, "orders' command sees orders' own");
});
