import { createDataSource } from '@shop/db';
import { catalogSchema } from '../src/database';

/** Bulk data for the benchmark: plausible names, descriptions and tags from small word lists, so searches have realistic hit rates. */
export const ADJECTIVES = ['rustic', 'modern', 'compact', 'classic', 'sturdy', 'elegant', 'portable', 'vintage', 'minimal', 'handmade', 'premium', 'everyday', 'foldable', 'heavy', 'slim', 'quiet', 'bright', 'soft', 'smart', 'rugged'];
export const MATERIALS = ['walnut', 'oak', 'copper', 'brass', 'steel', 'linen', 'wool', 'leather', 'ceramic', 'glass', 'bamboo', 'cotton', 'marble', 'cedar', 'rattan'];
export const NOUNS = ['lamp', 'kettle', 'chair', 'desk', 'mug', 'blanket', 'speaker', 'backpack', 'knife', 'pan', 'vase', 'shelf', 'clock', 'notebook', 'bottle', 'tent', 'lantern', 'stool', 'rug', 'bowl', 'teapot', 'headphones', 'planter', 'basket', 'mirror', 'tray', 'candle', 'cushion', 'grinder', 'radio'];
export const SENTENCES = [
  'Built to last for years of daily use.',
  'Designed in a small workshop and finished by hand.',
  'Easy to clean and kind to the planet.',
  'A gift that people actually keep.',
  'Pairs well with almost anything in the house.',
  'Tested on long weekends away from home.',
  'Quiet, warm and a little bit nostalgic.',
  'Packs flat and sets up in a minute.',
  'Made from responsibly sourced materials.',
  'Our most popular design, back by demand.',
];
export const TAGS = ['home', 'kitchen', 'outdoor', 'office', 'gift', 'travel', 'living', 'bedroom', 'garden', 'eco', 'sale', 'new', 'bestseller', 'limited', 'handmade'];

const sqlArray = (values: readonly string[]) => `ARRAY[${values.map((value) => `'${value.replaceAll("'", "''")}'`).join(',')}]`;
const randomIndex = (values: readonly string[]) => `1 + floor(random() * ${values.length})::int`;

/** Loads 10 categories and `count` products with one INSERT ... SELECT, then analyses the tables. */
export async function loadBenchCatalog(url: string, count: number): Promise<{ categoryIds: string[]; productIds: string[] }> {
  const db = createDataSource({ url, ...catalogSchema, poolSize: 1 });
  await db.initialize();
  try {
    await db.query(`SELECT setseed(0.42)`);
    await db.query(`INSERT INTO categories (name, slug) SELECT 'Category ' || i, 'category-' || i FROM generate_series(1, 10) i`);
    await db.query(`
      WITH cats AS (SELECT array_agg(id ORDER BY slug) AS ids FROM categories)
      INSERT INTO products (sku, name, description, price_cents, currency, category_id, tags, stock, created_at, updated_at)
      SELECT 'BENCH-' || lpad(g::text, 7, '0'),
             initcap(adjective) || ' ' || material || ' ' || noun,
             'A ' || adjective || ' ' || noun || ' in ' || material || '. ' || sentence,
             price, 'USD', category_id, ARRAY[material, tag], stock, created_at, created_at
      FROM (
        SELECT g,
               (${sqlArray(ADJECTIVES)})[${randomIndex(ADJECTIVES)}] AS adjective,
               (${sqlArray(MATERIALS)})[${randomIndex(MATERIALS)}] AS material,
               (${sqlArray(NOUNS)})[${randomIndex(NOUNS)}] AS noun,
               (${sqlArray(SENTENCES)})[${randomIndex(SENTENCES)}] AS sentence,
               (${sqlArray(TAGS)})[${randomIndex(TAGS)}] AS tag,
               100 + floor(random() * 99900)::int AS price,
               cats.ids[1 + floor(random() * 10)::int] AS category_id,
               CASE WHEN random() < 0.1 THEN 0 ELSE 1 + floor(random() * 200)::int END AS stock,
               now() - random() * interval '365 days' AS created_at
        FROM generate_series(1, $1::int) g, cats
      ) generated`, [count]);
    await db.query(`VACUUM ANALYZE products`);
    await db.query(`VACUUM ANALYZE categories`);
    const categoryIds = (await db.query(`SELECT id FROM categories ORDER BY slug`)).map((row: { id: string }) => row.id);
    const productIds = (await db.query(`SELECT id FROM products ORDER BY random() LIMIT 2000`)).map((row: { id: string }) => row.id);
    return { categoryIds, productIds };
  } finally {
    await db.destroy();
  }
}
