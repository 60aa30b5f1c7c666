import { performance } from 'node:perf_hooks';
import t from 'tap';
import { Saga, waitFor } from './helper';

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

function describe(durations: number[]): string {
  const sorted = [...durations].sort((a, b) => a - b);
  return `n=${sorted.length} p50=${percentile(sorted, 0.5).toFixed(0)}ms p95=${percentile(sorted, 0.95).toFixed(0)}ms max=${sorted.at(-1)!.toFixed(0)}ms`;
}

t.test('the race for the last units, and how long an order stays pending', async (t) => {
  const saga = await Saga.build(t);
  // A second catalog replica: the two consumers share the group, so reservations really race.
  await saga.startCatalog();

  t.test('50 concurrent orders of 1 unit for 10 in stock: exactly 10 confirmed, stock 0, never negative (10 rounds)', async (t) => {
    const waits: number[] = [];
    for (let round = 0; round < 10; round += 1) {
      const product = await saga.createProduct(10, 700);
      const orders = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const started = performance.now();
          // The wait is a deadline, not the measurement: an order answers as soon as it settles.
          const order = await saga.placeOrder([{ productId: product.id, quantity: 1 }], { waitSeconds: 10 });
          waits.push(performance.now() - started);
          return order;
        }),
      );
      const confirmed = orders.filter((order) => order.status === 'confirmed');
      const rejected = orders.filter((order) => order.status === 'rejected');
      const stockChanges: { stock: number }[] = await saga.catalog.db.query(
        `SELECT (payload->>'stock')::int AS stock FROM outbox WHERE type = 'product.stock-changed.v1' AND payload->>'productId' = $1 ORDER BY position`,
        [product.id],
      );
      const outcome = {
        confirmed: confirmed.length,
        rejectedOutOfStock: rejected.filter((order) => order.rejectionReason === 'out_of_stock').length,
        confirmedAtCatalogPrice: confirmed.filter((order) => order.totalCents === 700 && order.items[0]?.unitPriceCents === 700).length,
        storedStock: await saga.storedStock(product.id),
        stockSteps: stockChanges.map((change) => change.stock),
      };
      t.same(outcome, {
        confirmed: 10,
        rejectedOutOfStock: 40,
        confirmedAtCatalogPrice: 10,
        storedStock: 0,
        stockSteps: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
      }, `round ${round + 1}: 10 confirmed, 40 rejected, stock went 9..0 and no lower`);
      await waitFor('the catalog API to show 0', async () => (await saga.stockOf(product.id)) === 0, 1_000);
    }
    t.comment(`placing under a 50-order burst until settled (Prefer: wait): ${describe(waits)}`);
  });

  t.test('every order leaves pending promptly while everything is up', async (t) => {
    const product = await saga.createProduct(1_000);
    const durations: number[] = [];
    for (let index = 0; index < 30; index += 1) {
      const started = performance.now();
      const placed = await saga.placeOrder([{ productId: product.id, quantity: 1 }]);
      // Polled, not waited for: the order is read back until it is no longer pending.
      const settled = await saga.settled(placed.id, 10_000);
      durations.push(performance.now() - started);
      if (settled.status !== 'confirmed') t.fail(`order ${index} ended ${settled.status}`);
    }
    t.equal(durations.length, 30, 'all 30 left pending before the deadline');
    t.comment(`one order at a time, from POST to settled: ${describe(durations)}`);
  });
});
