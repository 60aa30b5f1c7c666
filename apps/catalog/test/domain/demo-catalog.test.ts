import t from 'tap';
import { DEMO_CATALOG, seedDemoCatalog } from '../../src/domain/demo-catalog';
import { build, type ProductJson } from '../helper';

t.test('the demo catalog loads once, through the domain, and a second run changes nothing', async (t) => {
  const { app } = await build(t);
  const productCount = DEMO_CATALOG.reduce((sum, category) => sum + category.products.length, 0);
  t.ok(productCount >= 45 && productCount <= 60, `about 50 products (${productCount})`);

  const before = await app.inject({ method: 'GET', url: '/v1/products' });
  t.same(before.json<{ items: unknown[] }>().items, [], 'an empty (and now cached) first page');

  const first = await seedDemoCatalog(app.catalog);
  t.same(first, { categoriesCreated: DEMO_CATALOG.length, categoriesFound: 0, productsCreated: productCount, productsFound: 0 });
  const after = await app.inject({ method: 'GET', url: '/v1/products?limit=100' });
  t.equal(after.json<{ items: ProductJson[] }>().items.length, productCount, 'the cached list saw the seed at once');

  const snapshot = async () => ({
    products: await app.db.query('SELECT id, sku, version, updated_at, stock FROM products ORDER BY sku'),
    categories: await app.db.query('SELECT id, slug, version, updated_at FROM categories ORDER BY slug'),
  });
  const seeded = await snapshot();
  const second = await seedDemoCatalog(app.catalog);
  t.same(second, { categoriesCreated: 0, categoriesFound: DEMO_CATALOG.length, productsCreated: 0, productsFound: productCount });
  t.same(await snapshot(), seeded, 'not a row touched');

  const concurrent = await Promise.all([seedDemoCatalog(app.catalog), seedDemoCatalog(app.catalog)]);
  t.same(concurrent.map((report) => report.productsCreated), [0, 0]);

  const search = await app.inject({ method: 'GET', url: '/v1/products?q=coffee' });
  t.ok(search.json<{ items: ProductJson[] }>().items.length >= 2, 'searchable');
  const outOfStock = await app.inject({ method: 'GET', url: '/v1/products?inStock=false&limit=100' });
  t.ok(outOfStock.json<{ items: ProductJson[] }>().items.length >= 3, 'some products are sold out, for the inStock filter');
});
