import { randomUUID } from 'node:crypto';
import { createDataSource, dropDatabase, ensureDatabase, runMigrations } from '@shop/db';
import type { DataSource } from 'typeorm';
import { recommendationsSchema } from '../src/database';
import { rebuildModel } from '../src/domain/model-rebuild';
import { DEFAULT_MODEL_SETTINGS, type ModelSettings } from '../src/domain/model-settings';
import { Recommender } from '../src/domain/recommender';

/**
 * Offline evaluation of the model on a generated shop with planted structure:
 *
 * - products come in groups that are bought together (a group is also the product's category),
 *   with a skewed popularity inside each group and across the shop;
 * - each customer has a taste: two favourite groups that most of their orders come from;
 * - noise: some orders come from any group, and some lines are any product of the shop.
 *
 * Each customer's orders are spread over time; the last one is held out. The model learns from
 * every other order (through the service's own rebuild, which the tests hold equal to the
 * incremental path), then recommends 10 products per customer. A hit is a held-out product the
 * customer had not bought before (nothing can recommend a repeat: every method leaves those out).
 */
export interface EvaluationOptions {
  seed: number;
  groups: number;
  productsPerGroup: number;
  customers: number;
  minOrders: number;
  maxOrders: number;
  /** Probability that an order comes from one of the customer's favourite groups. */
  loyalty: number;
  /** Probability that an order has one more line, of any product of the shop. */
  noiseLine: number;
  postgresUrl: string;
  settings?: Partial<ModelSettings>;
}

export const EVALUATION_DEFAULTS: Omit<EvaluationOptions, 'postgresUrl'> = {
  seed: 14,
  groups: 40,
  productsPerGroup: 10,
  customers: 800,
  minOrders: 3,
  maxOrders: 7,
  loyalty: 0.8,
  noiseLine: 0.3,
};

export interface Scores {
  hitRate: number;
  precision: number;
  recall: number;
}

export interface EvaluationResult {
  customersEvaluated: number;
  trainingOrders: number;
  random: Scores;
  popularity: Scores;
  model: Scores;
}

const K = 10;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An index in [0, n) with probability falling as 1 / (rank + 1): a few bestsellers, a long tail. */
function zipf(random: () => number, n: number): number {
  const total = harmonic(n);
  let target = random() * total;
  for (let rank = 0; rank < n; rank += 1) {
    target -= 1 / (rank + 1);
    if (target <= 0) return rank;
  }
  return n - 1;
}
function harmonic(n: number): number {
  let sum = 0;
  for (let rank = 1; rank <= n; rank += 1) sum += 1 / rank;
  return sum;
}

interface Order {
  id: string;
  user: string;
  products: string[];
  at: Date;
}

export function generateShop(options: Omit<EvaluationOptions, 'postgresUrl'>) {
  const random = seeded(options.seed);
  const uuid = (kind: number, index: number) => `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
  const productCount = options.groups * options.productsPerGroup;
  const products = Array.from({ length: productCount }, (_, index) => ({ id: uuid(1, index), group: Math.floor(index / options.productsPerGroup) }));
  // Shop-wide popularity for noise lines: a random order of the products, Zipf-weighted.
  const shopRanking = [...products].sort(() => random() - 0.5);
  const orders: Order[] = [];
  const start = Date.UTC(2026, 4, 1);
  for (let customer = 0; customer < options.customers; customer += 1) {
    const user = uuid(2, customer);
    const favourites = [Math.floor(random() * options.groups), Math.floor(random() * options.groups)];
    const count = options.minOrders + Math.floor(random() * (options.maxOrders - options.minOrders + 1));
    const times = Array.from({ length: count }, () => start + random() * 180 * 86_400_000).sort((a, b) => a - b);
    for (const time of times) {
      const group = random() < options.loyalty ? favourites[Math.floor(random() * favourites.length)]! : Math.floor(random() * options.groups);
      const lines = new Set<string>();
      const size = 2 + Math.floor(random() * 3);
      while (lines.size < size) lines.add(products[group * options.productsPerGroup + zipf(random, options.productsPerGroup)]!.id);
      if (random() < options.noiseLine) lines.add(shopRanking[zipf(random, productCount)]!.id);
      orders.push({ id: uuid(3, orders.length), user, products: [...lines].sort(), at: new Date(time) });
    }
  }
  return { products, orders };
}

function score(recommended: string[][], relevant: Set<string>[]): Scores {
  let hits = 0;
  let precision = 0;
  let recall = 0;
  recommended.forEach((list, index) => {
    const found = list.filter((id) => relevant[index]!.has(id)).length;
    if (found > 0) hits += 1;
    precision += found / K;
    recall += found / relevant[index]!.size;
  });
  const n = recommended.length;
  return { hitRate: hits / n, precision: precision / n, recall: recall / n };
}

async function trainModel(db: DataSource, products: { id: string; group: number }[], training: Order[], halfLifeSeconds: number): Promise<void> {
  const uuid = (index: number) => `00000004-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
  await db.query(
    `INSERT INTO products (id, sku, name, price_cents, currency, category_id, stock, version, created_at, updated_at)
     SELECT id, 'SKU-' || n, 'Product ' || n, 100, 'USD', category_id, 1000, 1, now(), now()
     FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS x (id, category_id, n)`,
    [products.map((product) => product.id), products.map((product) => uuid(product.group))],
  );
  await db.query(
    `INSERT INTO order_facts (order_id, user_id, product_ids, confirmed_at, weight, counted)
     SELECT o.id, o.user_id, ARRAY(SELECT jsonb_array_elements_text(o.products)::uuid), o.at, 0, true
     FROM jsonb_to_recordset($1::jsonb) AS o (id uuid, user_id uuid, products jsonb, at timestamptz)`,
    [JSON.stringify(training.map((order) => ({ id: order.id, user_id: order.user, products: order.products, at: order.at.toISOString() })))],
  );
  await rebuildModel(db, halfLifeSeconds);
}

export async function runEvaluation(options: EvaluationOptions): Promise<EvaluationResult> {
  const { products, orders } = generateShop(options);
  const lastOrderOf = new Map<string, Order>();
  for (const order of orders) if ((lastOrderOf.get(order.user)?.at ?? 0) < order.at) lastOrderOf.set(order.user, order);
  const heldOut = new Set([...lastOrderOf.values()].map((order) => order.id));
  const training = orders.filter((order) => !heldOut.has(order.id));
  const boughtBy = new Map<string, Set<string>>();
  for (const order of training) for (const product of order.products) boughtBy.set(order.user, (boughtBy.get(order.user) ?? new Set()).add(product));

  const settings: ModelSettings = { ...DEFAULT_MODEL_SETTINGS, ...options.settings };
  const url = new URL(options.postgresUrl);
  url.pathname = `/evaluation_${randomUUID().slice(0, 8)}`;
  await ensureDatabase(url.toString());
  const db = createDataSource({ url: url.toString(), ...recommendationsSchema, statementTimeoutMs: 0 });
  try {
    await runMigrations({ url: url.toString(), ...recommendationsSchema });
    await db.initialize();
    await trainModel(db, products, training, settings.halfLifeSeconds);
    const latest = Math.max(...training.map((order) => order.at.getTime()));
    const recommender = new Recommender(db, settings, () => latest);

    const popularity = new Map<string, number>();
    for (const order of training) for (const product of order.products) popularity.set(product, (popularity.get(product) ?? 0) + 1);
    const byPopularity = [...popularity.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([id]) => id);
    const random = seeded(options.seed + 1);

    const lists: Record<'random' | 'popularity' | 'model', string[][]> = { random: [], popularity: [], model: [] };
    const relevant: Set<string>[] = [];
    for (const [user, last] of lastOrderOf) {
      const bought = boughtBy.get(user) ?? new Set<string>();
      const wanted = new Set(last.products.filter((product) => !bought.has(product)));
      if (wanted.size === 0) continue;
      relevant.push(wanted);
      const candidates = products.map((product) => product.id).filter((id) => !bought.has(id));
      const randomList: string[] = [];
      while (randomList.length < K && randomList.length < candidates.length) {
        const pick = candidates[Math.floor(random() * candidates.length)]!;
        if (!randomList.includes(pick)) randomList.push(pick);
      }
      lists.random.push(randomList);
      lists.popularity.push(byPopularity.filter((id) => !bought.has(id)).slice(0, K));
      lists.model.push((await recommender.forCustomer(user, K)).map((item) => item.product.id));
    }
    return {
      customersEvaluated: relevant.length,
      trainingOrders: training.length,
      random: score(lists.random, relevant),
      popularity: score(lists.popularity, relevant),
      model: score(lists.model, relevant),
    };
  } finally {
    await db.destroy().catch(() => undefined);
    await dropDatabase(url.toString());
  }
}
