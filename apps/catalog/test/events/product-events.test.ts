import { randomUUID } from 'node:crypto';
import { eventually, TEST_REDIS_URL } from '@shop/testing';
import { Redis } from 'ioredis';
import t from 'tap';
import { build, createProduct, outboxEvents, type ProductJson } from '../helper';

const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' };

function snapshotOf(product: ProductJson) {
  const { id, sku, name, description, priceCents, currency, categoryId, tags, stock, version, createdAt, updatedAt } = product;
  return { productId: id, sku, name, description, priceCents, currency, categoryId, tags, stock, version, createdAt, updatedAt };
}

t.test('every product change lands in the outbox with the change, and nothing else does', async (t) => {
  const { app, admin, env } = await build(t);
  const eventsOf = async (productId: string) =>
    (await outboxEvents(app)).filter((event) => (event.payload as { productId?: string }).productId === productId).map(({ type, payload }) => ({ type, payload }));

  const product = await createProduct(app, admin, { sku: 'EV-1', stock: 7, tags: ['a'] });
  t.same(await eventsOf(product.id), [{ type: 'product.created.v1', payload: snapshotOf(product) }], 'created: the whole product, version 1');

  const renamed = await app.inject({ method: 'PATCH', url: `/v1/products/${product.id}`, headers: { ...admin, ...MERGE_PATCH }, payload: { name: 'Renamed' } });
  t.equal(renamed.statusCode, 200);
  const afterRename = renamed.json<ProductJson>();
  t.same((await eventsOf(product.id)).slice(1), [{ type: 'product.updated.v1', payload: snapshotOf(afterRename) }], 'updated, at the new version; stock did not change');
  t.equal(afterRename.version, 2);

  const noop = await app.inject({ method: 'PATCH', url: `/v1/products/${product.id}`, headers: { ...admin, ...MERGE_PATCH }, payload: { name: 'Renamed', stock: 7 } });
  t.equal(noop.statusCode, 200);
  t.equal((await eventsOf(product.id)).length, 2, 'a PATCH that changes nothing emits nothing');

  const restocked = await app.inject({ method: 'PATCH', url: `/v1/products/${product.id}`, headers: { ...admin, ...MERGE_PATCH }, payload: { stock: 12 } });
  const afterRestock = restocked.json<ProductJson>();
  t.same((await eventsOf(product.id)).slice(2), [
    { type: 'product.updated.v1', payload: snapshotOf(afterRestock) },
    { type: 'product.stock-changed.v1', payload: { productId: product.id, stock: 12, version: 3 } },
  ], 'a stock edit: updated, and stock-changed on its own');

  const { id: _id, createdAt: _createdAt, updatedAt: _updatedAt, version: _version, ...writable } = afterRestock;
  const replaced = await app.inject({ method: 'PUT', url: `/v1/products/${product.id}`, headers: admin, payload: { ...writable, priceCents: 1_999 } });
  t.equal(replaced.statusCode, 200);
  t.same((await eventsOf(product.id)).slice(4), [{ type: 'product.updated.v1', payload: snapshotOf(replaced.json<ProductJson>()) }], 'PUT: updated, no stock change');
  const samePut = await app.inject({ method: 'PUT', url: `/v1/products/${product.id}`, headers: admin, payload: { ...writable, priceCents: 1_999 } });
  t.equal(samePut.statusCode, 200);
  t.equal((await eventsOf(product.id)).length, 5, 'a PUT that changes nothing emits nothing');

  t.equal((await app.inject({ method: 'DELETE', url: `/v1/products/${product.id}`, headers: admin })).statusCode, 204);
  t.same((await eventsOf(product.id)).at(-1), { type: 'product.deleted.v1', payload: { productId: product.id, sku: 'EV-1' } });

  // A write that fails rolls its event back with it.
  const before = (await outboxEvents(app)).length;
  const other = await createProduct(app, admin, { sku: 'EV-2' });
  await createProduct(app, admin, { sku: 'EV-3' });
  const clash = await app.inject({ method: 'PATCH', url: `/v1/products/${other.id}`, headers: { ...admin, ...MERGE_PATCH }, payload: { sku: 'ev-3', name: 'x' } });
  t.equal(clash.statusCode, 409);
  const taken = await app.inject({ method: 'POST', url: '/v1/products', headers: admin, payload: { sku: 'EV-2', name: 'Clash', priceCents: 1, stock: 1 } });
  t.equal(taken.statusCode, 409);
  const stale = await app.inject({ method: 'PATCH', url: `/v1/products/${other.id}`, headers: { ...admin, ...MERGE_PATCH, 'if-match': '"v99"' }, payload: { name: 'y' } });
  t.equal(stale.statusCode, 412);
  t.equal((await outboxEvents(app)).length, before + 2, 'refused writes left no event (only the two creations did)');

  // The relay publishes them, in order, to the catalog's stream.
  const redis = new Redis(TEST_REDIS_URL, { keyPrefix: env.REDIS_KEY_PREFIX });
  t.teardown(() => redis.disconnect());
  const all = await outboxEvents(app);
  const onStream = await eventually(async () => {
    const entries = await redis.xrange('events:catalog', '-', '+');
    return entries.length === all.length ? entries : undefined;
  });
  t.same(onStream.map(([, fields]) => fields[fields.indexOf('id') + 1]), all.map((event) => event.eventId), 'every event on events:catalog once, in outbox order');
});

t.test('stock movements emit product.stock-changed.v1 per moved product, in the movement\'s transaction', async (t) => {
  const { app, admin } = await build(t);
  const a = await createProduct(app, admin, { stock: 5 });
  const b = await createProduct(app, admin, { stock: 2 });
  const stockChanges = async () => (await outboxEvents(app, 'product.stock-changed.v1')).map((event) => event.payload);
  const byId = <T extends { productId: string }>(items: T[]) => [...items].sort((x, y) => (x.productId < y.productId ? -1 : 1));

  const orderId = randomUUID();
  const reserved = await app.catalog.reserveStock(orderId, [{ productId: a.id, quantity: 2 }, { productId: b.id, quantity: 2 }]);
  t.equal(reserved.status, 'reserved');
  t.same(await stockChanges(), byId([{ productId: a.id, stock: 3, version: 2 }, { productId: b.id, stock: 0, version: 2 }]), 'one per product, in id order, with the new stock and version');

  await app.catalog.reserveStock(orderId, [{ productId: a.id, quantity: 2 }, { productId: b.id, quantity: 2 }]);
  const refused = await app.catalog.reserveStock(randomUUID(), [{ productId: b.id, quantity: 1 }]);
  t.match(refused, { status: 'rejected', reason: 'out_of_stock' });
  t.equal((await stockChanges()).length, 2, 'a repeat and a rejection move nothing and say nothing');

  await app.catalog.releaseStock(orderId);
  t.same((await stockChanges()).slice(2), byId([{ productId: a.id, stock: 5, version: 3 }, { productId: b.id, stock: 2, version: 3 }]), 'a release gives back, and says so');
  await app.catalog.releaseStock(orderId);
  await app.catalog.releaseStock(randomUUID());
  t.equal((await stockChanges()).length, 4, 'a repeated release and a tombstone say nothing');

  // Versions in the events match what readers see.
  const read = await app.inject({ method: 'GET', url: `/v1/products/${a.id}` });
  t.match(read.json(), { stock: 5, version: 3 });
  t.same((await outboxEvents(app, 'stock.reserved.v1', 'stock.rejected.v1', 'stock.released.v1')).length, 0, 'answers to orders are the saga consumer\'s, not the domain\'s');
});
