import { randomUUID } from 'node:crypto';
import t from 'tap';
import { bearer, build, problemOf } from '../helper';

t.test('Idempotency-Key', async (t) => {
  const { app, tokens } = await build(t);
  const userId = randomUUID();
  const token = await tokens.tokenFor({ userId });
  const items = [{ productId: randomUUID(), quantity: 2 }];
  const place = (key: string, body: unknown = { items }, as = token) =>
    app.inject({ method: 'POST', url: '/v1/orders', payload: body as object, headers: { ...bearer(as), 'idempotency-key': key } });
  const countOrders = async (owner = userId) => (await app.db.query(`SELECT count(*)::int AS n FROM orders WHERE user_id = $1`, [owner]))[0].n as number;

  t.test('20 sequential requests with one key: one order, the first response replayed', async (t) => {
    const key = randomUUID();
    const first = await place(key);
    t.equal(first.statusCode, 201);
    t.notOk(first.headers['idempotent-replayed']);
    for (let index = 0; index < 19; index += 1) {
      const replay = await place(key, { items: [{ quantity: 2, productId: items[0]!.productId }] });
      t.equal(replay.statusCode, 201);
      t.equal(replay.headers['idempotent-replayed'], 'true');
      t.equal(replay.headers.location, first.headers.location);
      t.same(replay.json(), first.json());
    }
    t.equal(await countOrders(), 1);
  });

  t.test('10 concurrent requests with one key: one order; the others replay or are told it is running', async (t) => {
    const before = await countOrders();
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 10 }, () => place(key)));
    t.equal(await countOrders(), before + 1);
    const created = responses.filter((response) => response.statusCode === 201 && !response.headers['idempotent-replayed']);
    t.equal(created.length, 1, 'exactly one request did the work');
    for (const response of responses) {
      if (response.statusCode === 409) {
        t.equal(problemOf(response).code, 'ORDERS_IDEMPOTENCY_IN_PROGRESS');
        t.equal(response.headers['retry-after'], '1');
      } else {
        t.equal(response.statusCode, 201);
        t.equal(response.json().id, created[0]!.json().id);
      }
    }
  });

  t.test('the same key with another body is 422', async (t) => {
    const key = randomUUID();
    t.equal((await place(key)).statusCode, 201);
    const other = await place(key, { items: [{ productId: randomUUID(), quantity: 1 }] });
    t.equal(other.statusCode, 422);
    t.equal(problemOf(other).code, 'ORDERS_IDEMPOTENCY_KEY_REUSED');
  });

  t.test('keys are per caller', async (t) => {
    const key = randomUUID();
    const mine = await place(key);
    const otherUser = randomUUID();
    const theirs = await place(key, { items }, await tokens.tokenFor({ userId: otherUser }));
    t.equal(theirs.statusCode, 201);
    t.notOk(theirs.headers['idempotent-replayed'], "another caller's key reveals nothing");
    t.not(theirs.json().id, mine.json().id);
    t.equal(await countOrders(otherUser), 1);
  });

  t.test('a failed request frees its key; a bad key is 400; an expired key is new again', async (t) => {
    const key = randomUUID();
    const invalid = await place(key, { items: [{ productId: items[0]!.productId, quantity: 1 }, { productId: items[0]!.productId, quantity: 1 }] });
    t.equal(invalid.statusCode, 400);
    t.equal((await place(key)).statusCode, 201, 'the key was not consumed by the invalid request');

    const bad = await place('has spaces in it');
    t.equal(bad.statusCode, 400);
    t.equal(problemOf(bad).code, 'ORDERS_INVALID_IDEMPOTENCY_KEY');

    const expiring = randomUUID();
    const first = await place(expiring);
    await app.db.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [expiring]);
    const after = await place(expiring);
    t.equal(after.statusCode, 201);
    t.notOk(after.headers['idempotent-replayed']);
    t.not(after.json().id, first.json().id, 'after 24 hours the key starts afresh');
  });

  t.test('a key left claimed by a request that died is taken over once its lock expires', async (t) => {
    const key = randomUUID();
    await app.db.query(
      `INSERT INTO idempotency_keys (user_id, key, fingerprint, state, locked_until, expires_at) VALUES ($1, $2, 'x', 'in_progress', now() + interval '1 hour', now() + interval '1 day')`,
      [userId, key],
    );
    const blocked = await place(key);
    t.equal(blocked.statusCode, 422, 'a different request than the one that died');
    const { fingerprintOf } = await import('../../src/domain/idempotency');
    await app.db.query(`UPDATE idempotency_keys SET fingerprint = $3 WHERE user_id = $1 AND key = $2`, [userId, key, fingerprintOf('POST /v1/orders', { items })]);
    t.equal((await place(key)).statusCode, 409, 'still locked: still running as far as anyone knows');
    await app.db.query(`UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE user_id = $1 AND key = $2`, [userId, key]);
    t.equal((await place(key)).statusCode, 201, 'the retry takes over');
  });

  t.test('cancel honours the key too', async (t) => {
    const order = (await place(randomUUID())).json();
    const key = randomUUID();
    const cancel = () => app.inject({ method: 'POST', url: `/v1/orders/${order.id}/cancel`, headers: { ...bearer(token), 'idempotency-key': key } });
    const first = await cancel();
    t.equal(first.statusCode, 200);
    const second = await cancel();
    t.equal(second.statusCode, 200, 'a retried cancel replays the success instead of a 409');
    t.equal(second.headers['idempotent-replayed'], 'true');
    const events = await app.db.query(`SELECT count(*)::int AS n FROM outbox WHERE type = 'order.cancelled.v1' AND payload->>'orderId' = $1`, [order.id]);
    t.equal(events[0].n, 1);
  });
});
