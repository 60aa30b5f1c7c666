import { loadConfig } from '@shop/service-kit';
import { eventually, TEST_REDIS_URL, type Teardown } from '@shop/testing';
import { Redis } from 'ioredis';
import t from 'tap';
import { buildApp } from '../../src/app';
import { CatalogConfigSchema } from '../../src/config';
import { build, createProduct, productBody, type ProductJson } from '../helper';
import { RedisProxy } from './redis-proxy';

interface PageJson {
  items: ProductJson[];
  nextCursor: string | null;
}

function inspector(t: Teardown, prefix: string): Redis {
  const redis = new Redis(TEST_REDIS_URL, { keyPrefix: prefix, maxRetriesPerRequest: 1 });
  t.teardown(() => redis.disconnect());
  return redis;
}

t.test('reads are cached and every change is visible at once', async (t) => {
  const { app, admin, env } = await build(t);
  const redis = inspector(t, env.REDIS_KEY_PREFIX);
  const product = await createProduct(app, admin, { name: 'Teapot', stock: 5 });
  const url = `/v1/products/${product.id}`;
  await eventually(async () => (app.catalog.cache.active ? true : undefined));

  t.equal((await app.inject({ method: 'GET', url })).statusCode, 200);
  t.ok(await redis.get(`product:${product.id}`), 'the product is in Redis after a read');

  // Changed behind the cache's back: the cached copy is what readers get, so the cache is in use.
  await app.db.query(`UPDATE products SET name = 'Changed in SQL' WHERE id = $1`, [product.id]);
  t.equal((await app.inject({ method: 'GET', url })).json<ProductJson>().name, 'Teapot', 'served from the cache');

  const patched = await app.inject({ method: 'PATCH', url, headers: admin, payload: { name: 'Blue teapot' } });
  t.equal(patched.statusCode, 200);
  const afterPatch = await app.inject({ method: 'GET', url });
  t.equal(afterPatch.json<ProductJson>().name, 'Blue teapot', 'a write is visible to the next read');
  t.equal(afterPatch.headers.etag, patched.headers.etag);

  const list = await app.inject({ method: 'GET', url: '/v1/products?sort=name' });
  t.same(list.json<PageJson>().items.map((item) => item.name), ['Blue teapot']);
  const added = await createProduct(app, admin, { name: 'Apple corer' });
  t.same((await app.inject({ method: 'GET', url: '/v1/products?sort=name' })).json<PageJson>().items.map((item) => item.name), ['Apple corer', 'Blue teapot'], 'a list page sees a new product at once');

  await app.catalog.reserveStock('7d8b6c1e-2f5a-4c3b-9d1e-0a1b2c3d4e5f', [{ productId: product.id, quantity: 2 }]);
  const afterReservation = await app.inject({ method: 'GET', url });
  t.equal(afterReservation.json<ProductJson>().stock, 3, 'a stock movement is visible at once');
  t.not(afterReservation.headers.etag, afterPatch.headers.etag, 'and changes the ETag');
  const inStock = await app.inject({ method: 'GET', url: '/v1/products?sort=name&inStock=true' });
  t.same(inStock.json<PageJson>().items.map((item) => item.stock), [10, 3]);
  await app.catalog.releaseStock('7d8b6c1e-2f5a-4c3b-9d1e-0a1b2c3d4e5f');
  t.equal((await app.inject({ method: 'GET', url })).json<ProductJson>().stock, 5, 'and so is a release');

  await app.inject({ method: 'DELETE', url: `/v1/products/${added.id}`, headers: admin });
  t.same((await app.inject({ method: 'GET', url: '/v1/products?sort=name' })).json<PageJson>().items.map((item) => item.name), ['Blue teapot']);
  await app.inject({ method: 'DELETE', url, headers: admin });
  t.equal((await app.inject({ method: 'GET', url })).statusCode, 404, 'a deleted product is not served from the cache');
  t.equal(await redis.get(`product:${product.id}`), null);
});

t.test('a change through one replica is visible through another at once', async (t) => {
  const { app: first, admin, config, issuer } = await build(t);
  const second = await buildApp({ ...config, EVENTS_CONSUMER_NAME: 'second-replica' }, { verificationKeys: issuer.verificationKeys, consumer: { blockMs: 200 } });
  t.teardown(() => second.close());
  const product = await createProduct(first, admin, { priceCents: 1_000 });
  const url = `/v1/products/${product.id}`;
  await eventually(async () => (first.catalog.cache.active && second.catalog.cache.active ? true : undefined));

  t.equal((await first.inject({ method: 'GET', url })).json<ProductJson>().priceCents, 1_000);
  t.equal((await first.inject({ method: 'GET', url: '/v1/products' })).json<PageJson>().items[0]?.priceCents, 1_000);
  await second.inject({ method: 'PATCH', url, headers: admin, payload: { priceCents: 1_500 } });
  t.equal((await first.inject({ method: 'GET', url })).json<ProductJson>().priceCents, 1_500);
  t.equal((await first.inject({ method: 'GET', url: '/v1/products' })).json<PageJson>().items[0]?.priceCents, 1_500);
});

t.test('with Redis unreachable, reads and writes still work, promptly; privileged requests are refused', async (t) => {
  const { app, admin } = await build(t, { REDIS_URL: 'redis://127.0.0.1:1' });
  const started = Date.now();
  // Writes go through the domain: an admin's token cannot be confirmed without Redis (see below).
  const product = await app.catalog.createProduct(productBody({ name: 'Offline kettle' }));
  const url = `/v1/products/${product.id}`;
  for (let round = 0; round < 10; round++) {
    const read = await app.inject({ method: 'GET', url });
    t.equal(read.statusCode, 200);
    const list = await app.inject({ method: 'GET', url: '/v1/products' });
    t.equal(list.json<PageJson>().items.length, 1);
    await app.catalog.patchProduct(product.id, { stock: round });
    t.equal((await app.inject({ method: 'GET', url })).json<ProductJson>().stock, round);
  }
  const refused = await app.inject({ method: 'DELETE', url, headers: admin });
  t.equal(refused.statusCode, 503, "an admin's write is refused while their rights cannot be checked");
  t.equal(refused.json().code, 'AUTH_FRESHNESS_UNAVAILABLE');
  await app.catalog.deleteProduct(product.id);
  t.equal((await app.inject({ method: 'GET', url })).statusCode, 404);
  // 42 requests; had any of them waited for Redis (1 s command timeout) this would take far longer.
  t.ok(Date.now() - started < 8_000, `42 requests took ${Date.now() - started} ms`);
  t.equal(app.catalog.cache.active, false);
});

t.test('the cache survives Redis going away and coming back, and never serves what changed meanwhile', async (t) => {
  const proxy = await RedisProxy.start(TEST_REDIS_URL);
  t.teardown(() => proxy.down());
  const { app, admin, env } = await build(t, { REDIS_URL: proxy.url });
  await eventually(async () => (app.redis.status === 'ready' ? true : undefined));
  const redis = inspector(t, env.REDIS_KEY_PREFIX);
  const product = await createProduct(app, admin, { name: 'Before the outage', stock: 4 });
  const url = `/v1/products/${product.id}`;
  await eventually(async () => (app.catalog.cache.active ? true : undefined));
  await app.inject({ method: 'GET', url });
  await app.inject({ method: 'GET', url: '/v1/products' });
  t.match(JSON.parse((await redis.get(`product:${product.id}`)) ?? '{}'), { name: 'Before the outage' }, 'cached');

  await proxy.down();
  await app.catalog.patchProduct(product.id, { name: 'During the outage' });
  t.pass('writes work without Redis');
  await app.catalog.reserveStock('0b9c8d7e-6f5a-4b3c-8d2e-1f0a9b8c7d6e', [{ productId: product.id, quantity: 1 }]);
  t.match(JSON.parse((await redis.get(`product:${product.id}`)) ?? '{}'), { name: 'Before the outage' }, 'Redis still holds the old copy');
  for (let round = 0; round < 5; round++) {
    t.match((await app.inject({ method: 'GET', url })).json(), { name: 'During the outage', stock: 3 }, 'reads bypass the stale cache');
    t.match((await app.inject({ method: 'GET', url: '/v1/products' })).json<PageJson>().items, [{ name: 'During the outage', stock: 3 }]);
  }

  await proxy.up();
  // Until the missed invalidations are sent, and after, no read may see the old copy.
  await eventually(async () => {
    const read = await app.inject({ method: 'GET', url });
    t.match(read.json(), { name: 'During the outage', stock: 3 });
    const list = await app.inject({ method: 'GET', url: '/v1/products' });
    t.match(list.json<PageJson>().items, [{ name: 'During the outage', stock: 3 }]);
    return app.catalog.cache.active ? true : undefined;
  });
  await app.inject({ method: 'GET', url });
  t.match(JSON.parse((await redis.get(`product:${product.id}`)) ?? '{}'), { name: 'During the outage', stock: 3 }, 'the cache is back in use, with the new copy');
});

t.test('a Redis that hangs costs one timeout, not one per request', async (t) => {
  const proxy = await RedisProxy.start(TEST_REDIS_URL);
  t.teardown(() => proxy.down());
  const { app, admin } = await build(t, { REDIS_URL: proxy.url });
  await eventually(async () => (app.redis.status === 'ready' ? true : undefined));
  const product = await createProduct(app, admin);
  const url = `/v1/products/${product.id}`;
  await eventually(async () => (app.catalog.cache.active ? true : undefined));

  proxy.stall();
  const started = Date.now();
  for (let round = 0; round < 20; round++) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 200);
  }
  await app.catalog.patchProduct(product.id, { stock: 42 });
  t.equal((await app.inject({ method: 'GET', url })).json<ProductJson>().stock, 42);
  // An admin's token cannot be confirmed while Redis hangs: refused at once, not after a timeout each.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  for (let round = 0; round < 3; round++) {
    t.equal((await app.inject({ method: 'PATCH', url, headers: admin, payload: { stock: 43 } })).statusCode, 503);
  }
  // Without the short circuits, each of these requests would wait out the 1 s command timeout.
  t.ok(Date.now() - started < 10_000, `25 requests took ${Date.now() - started} ms`);
  await proxy.down();
});

t.test('CACHE_ENABLED=false reads the database every time', async (t) => {
  const { app, admin } = await build(t, { CACHE_ENABLED: 'false' });
  const product = await createProduct(app, admin, { name: 'Uncached' });
  const url = `/v1/products/${product.id}`;
  await app.inject({ method: 'GET', url });
  await app.db.query(`UPDATE products SET name = 'Changed in SQL' WHERE id = $1`, [product.id]);
  t.equal((await app.inject({ method: 'GET', url })).json<ProductJson>().name, 'Changed in SQL');
  t.equal(loadConfig(CatalogConfigSchema, { DATABASE_URL: 'postgres://x/y' }).CACHE_ENABLED, true, 'on by default');
});
