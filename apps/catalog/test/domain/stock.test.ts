import { randomUUID } from 'node:crypto';
import { isPgError, PgErrorCodes } from '@shop/db';
import { isAppError } from '@shop/service-kit';
import t from 'tap';
import { findReservation, releaseStock, reserveStock, type StockReservation } from '../../src/domain/stock';
import { build, productBody } from '../helper';

/** What a promise was rejected with (undefined when it resolved). */
function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

t.test('stock reservations', async (t) => {
  const { app } = await build(t);
  const { db, catalog } = app;
  const newProduct = async (stock: number, priceCents = 1_250) => catalog.createProduct(productBody({ sku: `S-${randomUUID().slice(0, 12)}`, stock, priceCents }));
  const stockOf = async (id: string) => (await db.query('SELECT stock FROM products WHERE id = $1', [id]))[0]?.stock as number | undefined;

  t.test('50 concurrent orders of 1 unit for 10 in stock: exactly 10 succeed, stock ends at 0 (20 rounds)', async (t) => {
    for (let round = 0; round < 20; round++) {
      const product = await newProduct(10);
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, () => reserveStock(db, randomUUID(), [{ productId: product.id, quantity: 1 }])),
      );
      const reserved = outcomes.filter((outcome) => outcome.status === 'reserved');
      const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
      if (reserved.length !== 10 || (await stockOf(product.id)) !== 0 || !rejected.every((outcome) => outcome.reason === 'out_of_stock')) {
        t.fail(`round ${round}: ${reserved.length} reserved, stock ${await stockOf(product.id)}`);
        return;
      }
      const recorded = await db.query(`SELECT state, count(*)::int AS n FROM stock_reservations WHERE lines @> $1::jsonb GROUP BY state ORDER BY state`, [
        JSON.stringify([{ productId: product.id }]),
      ]);
      t.same(recorded, [{ state: 'rejected', n: 40 }, { state: 'reserved', n: 10 }], `round ${round}: every outcome recorded`);
    }
    t.pass('20 rounds, never oversold');
  });

  t.test('multi-line orders reserve every line or none, and concurrent ones never deadlock', async (t) => {
    const a = await newProduct(5, 1_000);
    const b = await newProduct(1, 2_500);
    const tooMuch = await reserveStock(db, randomUUID(), [{ productId: a.id, quantity: 2 }, { productId: b.id, quantity: 2 }]);
    t.same(tooMuch, { orderId: tooMuch.orderId, status: 'rejected', reason: 'out_of_stock', productIds: [b.id] }, 'names the product that was short');
    t.equal(await stockOf(a.id), 5, 'the line that fitted was not taken either');
    t.equal(await stockOf(b.id), 1);

    const ghost = randomUUID();
    const unknown = await reserveStock(db, randomUUID(), [{ productId: a.id, quantity: 1 }, { productId: ghost, quantity: 1 }]);
    t.same(unknown, { orderId: unknown.orderId, status: 'rejected', reason: 'product_not_found', productIds: [ghost] });
    t.equal(await stockOf(a.id), 5);

    const orderId = randomUUID();
    const fits = await reserveStock(db, orderId, [{ productId: b.id, quantity: 1 }, { productId: a.id, quantity: 2 }]);
    t.same(fits, {
      orderId,
      status: 'reserved',
      lines: [
        { productId: b.id, sku: b.sku, name: b.name, unitPriceCents: 2_500, quantity: 1 },
        { productId: a.id, sku: a.sku, name: a.name, unitPriceCents: 1_000, quantity: 2 },
      ],
      currency: 'USD',
    }, 'the catalog says what each line is and costs');
    t.equal(await stockOf(a.id), 3);
    t.equal(await stockOf(b.id), 0);

    // Lines in opposite orders from concurrent orders: row locks are taken in id order, so no deadlock.
    const x = await newProduct(20);
    const y = await newProduct(20);
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, index) => {
        const lines = [{ productId: x.id, quantity: 1 }, { productId: y.id, quantity: 1 }];
        return reserveStock(db, randomUUID(), index % 2 ? lines : lines.reverse());
      }),
    );
    t.equal(outcomes.filter((outcome) => outcome.status === 'reserved').length, 20);
    t.equal(await stockOf(x.id), 0);
    t.equal(await stockOf(y.id), 0);
  });

  t.test('the same reservation twice changes stock once and answers the same', async (t) => {
    const product = await newProduct(10);
    const orderId = randomUUID();
    const lines = [{ productId: product.id, quantity: 3 }];
    const first = await reserveStock(db, orderId, lines);
    const second = await reserveStock(db, orderId, lines);
    t.same(second, first);
    t.equal(await stockOf(product.id), 7);

    const concurrentOrder = randomUUID();
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => reserveStock(db, concurrentOrder, lines)));
    for (const outcome of concurrent) t.same(outcome, concurrent[0], 'concurrent duplicates agree');
    t.equal(await stockOf(product.id), 4, 'and take stock once');

    const rejectedOrder = randomUUID();
    const rejected = await reserveStock(db, rejectedOrder, [{ productId: product.id, quantity: 100 }]);
    await catalog.patchProduct(product.id, { stock: 1_000 });
    t.same(await reserveStock(db, rejectedOrder, [{ productId: product.id, quantity: 100 }]), rejected, 'a rejection is final for that order id');
    t.equal(await stockOf(product.id), 1_000);
  });

  t.test('release gives back exactly what was held, once', async (t) => {
    const a = await newProduct(10);
    const b = await newProduct(4);
    const orderId = randomUUID();
    const reservation = (await reserveStock(db, orderId, [{ productId: a.id, quantity: 3 }, { productId: b.id, quantity: 4 }])) as Extract<StockReservation, { status: 'reserved' }>;
    t.equal(reservation.status, 'reserved');
    // Meanwhile other orders and an admin move stock: the release must add back, not reset.
    await reserveStock(db, randomUUID(), [{ productId: a.id, quantity: 2 }]);
    await catalog.patchProduct(b.id, { stock: 6 });

    const released = await releaseStock(db, orderId);
    t.same(released, { orderId, released: reservation.lines });
    t.equal(await stockOf(a.id), 10 - 3 - 2 + 3);
    t.equal(await stockOf(b.id), 6 + 4);
    t.equal((await findReservation(db, orderId))?.state, 'released');

    const again = await releaseStock(db, orderId);
    t.same(again, released, 'a second release answers the same');
    t.equal(await stockOf(a.id), 8, 'and changes nothing');
    t.equal(await stockOf(b.id), 10);
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => releaseStock(db, orderId)));
    for (const outcome of concurrent) t.same(outcome, released);
    t.equal(await stockOf(a.id), 8);

    t.match(await reserveStock(db, orderId, [{ productId: a.id, quantity: 1 }]), { status: 'rejected', reason: 'order_released' }, 'a released order cannot reserve again');
    t.equal(await stockOf(a.id), 8);

    const rejectedOrder = randomUUID();
    await reserveStock(db, rejectedOrder, [{ productId: a.id, quantity: 999 }]);
    t.same(await releaseStock(db, rejectedOrder), { orderId: rejectedOrder, released: [] }, 'a rejected order held nothing');
    t.equal(await stockOf(a.id), 8);
  });

  t.test('a release that overtakes its reservation leaves a tombstone that refuses it', async (t) => {
    const product = await newProduct(5);
    const orderId = randomUUID();
    t.same(await releaseStock(db, orderId), { orderId, released: [] });
    t.match(await findReservation(db, orderId), { state: 'released', lines: [] });
    t.same(await reserveStock(db, orderId, [{ productId: product.id, quantity: 2 }]), { orderId, status: 'rejected', reason: 'order_released', productIds: [] });
    t.equal(await stockOf(product.id), 5);

    // Racing each other, either order of arrival ends with the stock where it started.
    for (let round = 0; round < 10; round++) {
      const racing = randomUUID();
      await Promise.all([reserveStock(db, racing, [{ productId: product.id, quantity: 1 }]), releaseStock(db, racing)]);
      t.equal(await stockOf(product.id), 5, `round ${round}`);
    }
  });

  t.test('a product deleted while reserved simply gets nothing back', async (t) => {
    const kept = await newProduct(3);
    const doomed = await newProduct(3);
    const orderId = randomUUID();
    await reserveStock(db, orderId, [{ productId: kept.id, quantity: 1 }, { productId: doomed.id, quantity: 1 }]);
    await catalog.deleteProduct(doomed.id);
    const released = await releaseStock(db, orderId);
    t.equal(released.released.length, 2);
    t.equal(await stockOf(kept.id), 3);
  });

  t.test('duplicate lines of one product count together; bad requests are refused', async (t) => {
    const product = await newProduct(5);
    const outcome = await reserveStock(db, randomUUID(), [{ productId: product.id, quantity: 2 }, { productId: product.id.toUpperCase(), quantity: 3 }]);
    t.match(outcome, { status: 'reserved', lines: [{ productId: product.id, quantity: 5 }] });
    t.equal(await stockOf(product.id), 0);

    const bad: [string, { productId: string; quantity: number }[]][] = [
      [randomUUID(), []],
      [randomUUID(), [{ productId: product.id, quantity: 0 }]],
      [randomUUID(), [{ productId: product.id, quantity: 1.5 }]],
      [randomUUID(), [{ productId: 'not-a-uuid', quantity: 1 }]],
      ['not-a-uuid', [{ productId: product.id, quantity: 1 }]],
    ];
    for (const [orderId, lines] of bad) {
      const error = await failureOf(reserveStock(db, orderId, lines));
      t.ok(isAppError(error) && error.code === 'REQUEST_VALIDATION_FAILED', `${orderId} ${JSON.stringify(lines)}`);
    }
    t.ok(isAppError(await failureOf(releaseStock(db, 'nope'))));
  });

  t.test('the table itself refuses negative stock', async (t) => {
    const product = await newProduct(1);
    const error = await failureOf(db.query('UPDATE products SET stock = stock - 2 WHERE id = $1', [product.id]));
    t.ok(isPgError(error, PgErrorCodes.CHECK_VIOLATION, 'products_stock_check'));
  });
});
