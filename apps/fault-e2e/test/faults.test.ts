import { setTimeout as delay } from 'node:timers/promises';
import { waitFor, type KeepAliveLoad, type LoadReport } from '@shop/testing';
import t, { type Test } from 'tap';
import { startFaultStack, type FaultStack, type ServiceName } from './fault-stack';
import { Shop } from './shop-load';

/**
 * Longest for every order to leave `pending` once the stack is whole and the load has stopped.
 * The contract's 2 s is per order with everything up; this covers the backlog a fault leaves on
 * a machine shared with other work.
 */
const SETTLE_BOUND_MS = 60_000;
/** SHUTDOWN_GRACE_MS, the services' default. */
const GRACE_MS = 10_000;

interface Fault {
  name: string;
  /** Clean stops (SIGTERM) must not cost a single connection or upstream failure. */
  graceful: boolean;
  /** Injects the fault mid-load, right after `load.mark()`, and resolves once the stack is whole again. */
  inject(stack: FaultStack, load: KeepAliveLoad, t: Test): Promise<void>;
}

const stop = (service: ServiceName, signal: NodeJS.Signals): Fault => ({
  name: `${signal === 'SIGKILL' ? 'kill -9' : signal} ${service} under keep-alive load`,
  graceful: signal === 'SIGTERM',
  inject: async (stack, load, t) => {
    load.mark();
    const { exitedAfterMs, exitCode } = await stack.signal(service, signal);
    t.comment(`${service} exited (${exitCode}) ${exitedAfterMs} ms after ${signal}`);
    if (signal === 'SIGTERM') {
      t.equal(exitCode, '0', `${service} exits cleanly`);
      t.ok(exitedAfterMs < GRACE_MS, `${service} exits once its work is done, before the grace period ends (${exitedAfterMs} ms)`);
    }
    await stack.waitUntilReady(service);
  },
});

const FAULTS: Fault[] = [
  stop('auth', 'SIGTERM'),
  stop('catalog', 'SIGTERM'),
  stop('orders', 'SIGTERM'),
  stop('gateway', 'SIGTERM'),
  stop('catalog', 'SIGKILL'),
  stop('orders', 'SIGKILL'),
  {
    name: 'kill -9 Redis under load, back empty',
    graceful: false,
    inject: async (stack, load) => {
      load.mark();
      await stack.redis.stop();
      await delay(1_000);
      await stack.redis.start();
      await stack.waitUntilReady('gateway');
    },
  },
];

/**
 * Faults injected into the running stack (separate processes, a Redis of its own) while a steady
 * keep-alive load places orders through the gateway. After each: no connection reset, every
 * request answered, every order asked for exists exactly once (retried with its Idempotency-Key
 * where the answer was lost), every order leaves `pending`, and each product's stock is exactly
 * its initial stock less what confirmed orders hold. The time to settle is printed.
 */
t.test('faults under load', async (t) => {
  const startedAt = Date.now();
  const stack = await startFaultStack(t);
  const shop = await Shop.open(stack.gatewayUrl, stack.gatewayPort, stack.admin);
  t.comment(`stack up and shop open in ${Date.now() - startedAt} ms`);

  for (const fault of FAULTS) {
    await t.test(fault.name, async (t) => {
      const load = shop.startLoad();
      await delay(1_500);
      const faultAt = Date.now();
      await fault.inject(stack, load, t);
      const healedAt = Date.now();
      await delay(1_000);
      const report = await load.stop();
      const loadEndedAt = Date.now();
      t.comment(`load: ${summarise(report)}; healed ${healedAt - faultAt} ms after the fault`);
      checkConnections(t, report, fault.graceful);

      const { retried, unresolved } = await shop.retryUnanswered(SETTLE_BOUND_MS);
      t.equal(unresolved, 0, `every order whose answer was lost has it on a retry with the same key (${retried} retried)`);
      const orders = await settledOrders(t, shop);
      t.comment(`settled: every order left pending ${Date.now() - loadEndedAt} ms after the load ended, ${Date.now() - healedAt} ms after the stack was whole`);
      t.ok(orders, `every order leaves pending within ${SETTLE_BOUND_MS} ms`);
      if (orders) await checkBooks(t, shop, orders);
      t.ok(true, `${fault.name}: ${Date.now() - faultAt} ms in all`);
    });
  }

  await t.test('after Redis came back empty, a new order settles within the contract’s 2 s', async (t) => {
    // The relays may still be replaying what Redis lost: new events must not wait for that.
    const token = shop.customerToken();
    const placedAt = Date.now();
    const response = await fetch(`${stack.gatewayUrl}/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', prefer: 'wait=10' },
      body: JSON.stringify({ items: [{ productId: shop.products[0]!.id, quantity: 1 }] }),
    });
    const order = (await response.json()) as { status: string };
    const took = Date.now() - placedAt;
    // The time is a figure to read against the contract's 2 s, not an assertion: a whole stack on
    // a loaded machine stretches it. What must hold is that the order settles, and as confirmed.
    t.comment(`a new order placed just after the Redis fault settled in ${took} ms (contract: 2 s)`);
    t.equal(order.status, 'confirmed', 'a new order placed just after the Redis fault is confirmed');
  });
  t.comment(`the whole suite took ${Date.now() - startedAt} ms`);
});

function summarise(report: LoadReport): string {
  const { statuses, resets, droppedWithoutClose, unansweredAfterClose, refused, sentBeforeMark, answeredBeforeMark, errors } = report;
  return JSON.stringify({ statuses, resets, droppedWithoutClose, unansweredAfterClose, refused, sentBeforeMark, answeredBeforeMark, errors: errors.slice(0, 3) });
}

function checkConnections(t: Test, report: LoadReport, graceful: boolean): void {
  t.equal(report.resets, 0, 'no connection to the gateway was reset');
  t.equal(report.droppedWithoutClose, 0, 'no connection closed with a request outstanding without saying Connection: close');
  t.equal(report.answeredBeforeMark, report.sentBeforeMark, 'every request sent before the fault was answered');
  t.same(report.errors, [], 'no other socket error');
  t.ok((report.statuses[201] ?? 0) >= 10, `orders were placed under the fault's load (${report.statuses[201] ?? 0})`);
  if (graceful) {
    // A 502 is the gateway meeting a connection its upstream broke; a clean stop breaks none.
    t.equal(report.statuses[502] ?? 0, 0, 'no 502: the stopped service broke no connection of the gateway');
    t.equal(report.statuses[500] ?? 0, 0, 'no 500');
  }
}

async function settledOrders(t: Test, shop: Shop) {
  let orders: Awaited<ReturnType<Shop['listOrders']>> | undefined;
  try {
    await waitFor(
      'every order to leave pending',
      async () => {
        orders = await shop.listOrders().catch(() => orders);
        return orders !== undefined && orders.every((order) => order.status !== 'pending');
      },
      SETTLE_BOUND_MS,
    );
    return orders;
  } catch {
    const pending = (orders ?? []).filter((order) => order.status === 'pending');
    t.comment(`still pending: ${pending.length} of ${orders?.length}, e.g. ${JSON.stringify(pending.slice(0, 2))}`);
    return undefined;
  }
}

async function checkBooks(t: Test, shop: Shop, orders: Awaited<ReturnType<Shop['listOrders']>>): Promise<void> {
  const byKey = [...shop.orderIdsByKey().values()];
  const listed = new Set(orders.map((order) => order.id));
  t.equal(listed.size, orders.length, 'no order is listed twice');
  t.equal(new Set(byKey).size, byKey.length, 'no two Idempotency-Keys ended with the same order');
  t.same([...listed].sort(), [...new Set(byKey)].sort(), `exactly one order per key asked for (${byKey.length}): none lost, none placed twice`);
  const counts = { confirmed: 0, rejected: 0, cancelled: 0 };
  for (const order of orders) if (order.status !== 'pending') counts[order.status] += 1;
  t.comment(`orders so far: ${JSON.stringify(counts)}`);
  for (const product of shop.products) {
    const held = orders
      .filter((order) => order.status === 'confirmed')
      .flatMap((order) => order.items)
      .filter((item) => item.productId === product.id)
      .reduce((sum, item) => sum + item.quantity, 0);
    const expected = product.initialStock - held;
    let stock = await shop.stockOf(product);
    const deadline = Date.now() + 15_000;
    while (stock !== expected && Date.now() < deadline) {
      await delay(100);
      stock = await shop.stockOf(product);
    }
    t.equal(stock, expected, `stock of ${product.id} = ${product.initialStock} − ${held} confirmed`);
  }
}
