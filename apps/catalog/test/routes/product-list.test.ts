import { randomUUID } from 'node:crypto';
import { ProductSorts, type ProductSort } from '@shop/contracts';
import t from 'tap';
import { build, createCategory, createProduct, problemOf, productBody, type App, type ProductJson } from '../helper';

interface PageJson {
  items: ProductJson[];
  nextCursor: string | null;
}

async function page(app: App, query: string): Promise<PageJson> {
  const response = await app.inject({ method: 'GET', url: `/v1/products?${query}` });
  if (response.statusCode !== 200) throw new Error(`list failed: ${response.statusCode} ${response.body}`);
  return response.json<PageJson>();
}

/** Follows nextCursor to the end; returns every item in the order served. */
async function walk(app: App, query: string, between: () => Promise<void> = async () => undefined): Promise<ProductJson[]> {
  const items: ProductJson[] = [];
  let cursor: string | null = null;
  do {
    const current: PageJson = await page(app, cursor ? `${query}&cursor=${encodeURIComponent(cursor)}` : query);
    items.push(...current.items);
    cursor = current.nextCursor;
    await between();
  } while (cursor);
  return items;
}

function compareBy(sort: ProductSort): (a: ProductJson, b: ProductJson) => number {
  const descending = sort.startsWith('-');
  const key = sort.replace('-', '');
  const value = (product: ProductJson) => (key === 'price' ? product.priceCents : key === 'name' ? product.name : product.createdAt);
  return (a, b) => {
    const [x, y] = [value(a), value(b)];
    const primary = x < y ? -1 : x > y ? 1 : 0;
    const order = primary !== 0 ? primary : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    return descending ? -order : order;
  };
}

t.test('filters, search and sorts', async (t) => {
  const { app, admin } = await build(t);
  const lighting = await createCategory(app, admin, { name: 'Lighting' });
  const kitchen = await createCategory(app, admin, { name: 'Kitchen' });
  const lamp = await createProduct(app, admin, { name: 'Walnut desk lamp', priceCents: 4_999, stock: 3, categoryId: lighting.id, tags: ['wood'], description: 'Warm light for reading.' });
  const bulb = await createProduct(app, admin, { name: 'Edison bulb', priceCents: 799, stock: 0, categoryId: lighting.id, tags: ['vintage'], description: 'A filament bulb.' });
  const kettle = await createProduct(app, admin, { name: 'Copper kettle', priceCents: 5_999, stock: 12, categoryId: kitchen.id, tags: ['copper', 'tea'], description: 'Boils water for tea, warm and quick.' });
  const knife = await createProduct(app, admin, { name: 'Chef knife', priceCents: 8_900, stock: 1, categoryId: kitchen.id, tags: ['steel'], description: null });
  const loose = await createProduct(app, admin, { name: 'Gift card', priceCents: 2_500, stock: 100, categoryId: null, tags: [], description: 'Lets them choose.' });
  const ids = (items: ProductJson[]) => items.map((item) => item.id).sort();

  const all = await app.inject({ method: 'GET', url: '/v1/products' });
  t.equal(all.statusCode, 200);
  t.equal(all.headers['cache-control'], 'public, no-cache');
  t.same(all.json<PageJson>().items.map((item) => item.id), [loose.id, knife.id, kettle.id, bulb.id, lamp.id], 'newest first by default');
  t.equal(all.json<PageJson>().nextCursor, null);
  t.notOk(all.headers.link);

  t.same(ids((await page(app, `categoryId=${lighting.id}`)).items), ids([lamp, bulb]));
  t.same(ids((await page(app, 'minPrice=2500&maxPrice=5999')).items), ids([lamp, kettle, loose]), 'price bounds are inclusive');
  t.same(ids((await page(app, 'minPrice=5000')).items), ids([kettle, knife]));
  t.same(ids((await page(app, 'inStock=true')).items), ids([lamp, kettle, knife, loose]));
  t.same(ids((await page(app, 'inStock=false')).items), ids([bulb]));
  t.same(ids((await page(app, `categoryId=${kitchen.id}&inStock=true&maxPrice=6000`)).items), ids([kettle]));
  t.same((await page(app, `categoryId=${randomUUID()}`)).items, []);
  t.same(ids((await page(app, `ids=${lamp.id},${knife.id.toUpperCase()},${randomUUID()}`)).items), ids([lamp, knife]), 'a batch read by ids; unknown ids are left out');
  t.same(ids((await page(app, `ids=${lamp.id},${kettle.id}&inStock=true&maxPrice=5000`)).items), ids([lamp]), 'ids combine with filters');

  t.same(ids((await page(app, 'q=lamp')).items), ids([lamp]), 'name');
  t.same(ids((await page(app, 'q=lamps')).items), ids([lamp]), 'stemmed');
  t.same(ids((await page(app, 'q=tea')).items), ids([kettle]), 'tags and description');
  t.same(ids((await page(app, 'q=vintage')).items), ids([bulb]), 'tags');
  t.same(ids((await page(app, 'q=reading')).items), ids([lamp]), 'description');
  t.same(ids((await page(app, 'q=copper%20tea')).items), ids([kettle]), 'every word must match');
  t.same((await page(app, 'q=copper%20lamp')).items, []);
  t.same(ids((await page(app, `q=light&categoryId=${lighting.id}`)).items), ids([lamp]), 'search combines with filters');
  t.same((await page(app, 'q=%22%22%22')).items, [], 'a query of only punctuation matches nothing rather than failing');
  const searchByPrice = await page(app, 'q=warm&sort=price');
  t.same(searchByPrice.items.map((item) => item.id), [lamp.id, kettle.id], 'a search keeps the chosen sort');

  const all5 = [lamp, bulb, kettle, knife, loose];
  for (const sort of ProductSorts) {
    const served = (await page(app, `sort=${sort}`)).items.map((item) => item.id);
    t.same(served, [...all5].sort(compareBy(sort)).map((item) => item.id), `sort=${sort}`);
  }

  const first = await app.inject({ method: 'GET', url: `/v1/products?limit=2&sort=price&inStock=true` });
  const firstPage = first.json<PageJson>();
  t.same(firstPage.items.map((item) => item.id), [loose.id, lamp.id]);
  t.type(firstPage.nextCursor, 'string');
  t.equal(first.headers.link, `</v1/products?limit=2&sort=price&inStock=true&cursor=${firstPage.nextCursor}>; rel="next"`);
  const second = await page(app, `limit=2&sort=price&inStock=true&cursor=${firstPage.nextCursor}`);
  t.same(second.items.map((item) => item.id), [kettle.id, knife.id]);

  const otherSort = await app.inject({ method: 'GET', url: `/v1/products?limit=2&sort=name&cursor=${firstPage.nextCursor}` });
  t.equal(otherSort.statusCode, 400, "a cursor only continues the sort that issued it");
  t.match(problemOf(otherSort).errors, [{ path: '/querystring/cursor' }]);
});

t.test('bad list parameters are 400', async (t) => {
  const { app } = await build(t);
  const cases = [
    ['limit=0', '/querystring/limit'],
    ['limit=101', '/querystring/limit'],
    ['limit=ten', '/querystring/limit'],
    ['sort=price,name', '/querystring/sort'],
    ['sort=stock', '/querystring/sort'],
    ['minPrice=-1', '/querystring/minPrice'],
    ['maxPrice=abc', '/querystring/maxPrice'],
    ['minPrice=500&maxPrice=100', '/querystring/minPrice'],
    ['inStock=maybe', '/querystring/inStock'],
    ['categoryId=kitchen', '/querystring/categoryId'],
    ['cursor=not-a-cursor', '/querystring/cursor'],
    [`cursor=${Buffer.from(JSON.stringify(['price', 'x', 'y'])).toString('base64url')}`, '/querystring/cursor'],
    ['colour=red', '/querystring/colour'],
    [`q=${'x'.repeat(201)}`, '/querystring/q'],
    ['ids=kitchen', '/querystring/ids'],
    [`ids=${randomUUID()},`, '/querystring/ids'],
    [`ids=${Array.from({ length: 101 }, () => randomUUID()).join(',')}`, '/querystring/ids'],
  ] as const;
  for (const [query, path] of cases) {
    const response = await app.inject({ method: 'GET', url: `/v1/products?${query}` });
    t.equal(response.statusCode, 400, query);
    t.equal(response.headers['content-type'], 'application/problem+json');
    t.ok(problemOf(response).errors?.some((error) => error.path === path), `${query}: errors[] names ${path}`);
  }
  const limits = await Promise.all([1, 100].map((limit) => app.inject({ method: 'GET', url: `/v1/products?limit=${limit}` })));
  t.same(limits.map((response) => response.statusCode), [200, 200]);
});

t.test('paging while rows are inserted and deleted never repeats or skips a row that existed throughout', async (t) => {
  const { app, admin } = await build(t);
  const { catalog } = app;
  const shelf = await createCategory(app, admin, { name: 'Shelf' });
  const elsewhere = await createCategory(app, admin, { name: 'Elsewhere' });
  // Few distinct prices and names, so ties on the sort key are common and the id must break them.
  const prices = [100, 200, 300, 400];
  const names = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo'];
  let serial = 0;
  const add = (index: number) =>
    catalog.createProduct(
      productBody({
        sku: `P-${serial++}`,
        name: names[index % names.length]!,
        priceCents: prices[index % prices.length]!,
        stock: index % 5 === 0 ? 0 : 5,
        categoryId: index % 3 === 0 ? elsewhere.id : shelf.id,
      }),
    );
  for (let index = 0; index < 60; index++) await add(index);
  const filter = `categoryId=${shelf.id}&inStock=true&maxPrice=300`;
  const matches = (product: { categoryId: string | null; stock: number; priceCents: number }) =>
    product.categoryId === shelf.id && product.stock > 0 && product.priceCents <= 300;

  for (const sort of ProductSorts) {
    const before = (await walk(app, `${filter}&sort=${sort}&limit=100`)).map((item) => item.id);
    const deleted = new Set<string>();
    let mutations = 0;
    // Insert rows that sort everywhere (ties on the key included: the id decides where they land)
    // and delete existing ones, some still ahead of the walk and some already behind it.
    const mutate = async () => {
      const step = mutations++;
      await add(step * 7 + 1);
      await add(step * 7 + 2);
      const candidates = (await page(app, `${filter}&sort=${step % 2 ? 'price' : '-name'}&limit=5`)).items;
      const victim = candidates[step % candidates.length];
      if (victim && !deleted.has(victim.id)) {
        deleted.add(victim.id);
        await catalog.deleteProduct(victim.id);
      }
    };
    let walking = true;
    const otherTask = (async () => {
      while (walking) await mutate();
    })();
    // Between pages, one more change for certain, so every page boundary sees the list move.
    const served = await walk(app, `${filter}&sort=${sort}&limit=4`, mutate).finally(() => {
      walking = false;
    });
    await otherTask;

    const servedIds = served.map((item) => item.id);
    t.equal(new Set(servedIds).size, servedIds.length, `${sort}: no row served twice`);
    const throughout = before.filter((id) => !deleted.has(id));
    const missing = throughout.filter((id) => !servedIds.includes(id));
    t.same(missing, [], `${sort}: every row that existed throughout was served (${throughout.length} of them, ${mutations} changes during the walk)`);
    t.ok(mutations > 0, `${sort}: the catalog changed during the walk`);
    t.ok(served.every(matches), `${sort}: every row matches the filter`);
    t.same(servedIds, [...served].sort(compareBy(sort)).map((item) => item.id), `${sort}: in order`);
  }
});
