import type { Product, RecommendationReason, RecommendedItem } from '@shop/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import { POPULARITY_EPOCH_SECONDS, type ModelSettings } from './model-settings';

/**
 * The read side: plain functions of the counts, callable from a REST route or a GraphQL resolver
 * alike (`forProduct` for `Product.recommendations`, `forCustomer` for `Query.recommendedProducts`).
 *
 * Similarity is Linden, Smith and York's cosine over customer vectors, c(i,j) / sqrt(n(i) n(j)),
 * times the shrinkage factor c / (c + λ) (Koren; Bell and Koren): cosine alone rates two products
 * bought together by 3 of 3 customers above two bought together by 300 of 400, and the factor
 * discounts the evidence of few customers. Pairs below the privacy threshold are never read.
 *
 * A product's neighbour list is kept ready by the incremental path as the index
 * `pair_counts (product_id, customers DESC, other_id)`: a read takes its first
 * NEIGHBOUR_CANDIDATES partners in one range scan and ranks them by similarity with the current
 * n(j). Materialising similarity scores instead would go stale with every order of any partner
 * (n(j) moves), and refreshing them would cost each order far more than the 2 ms budget.
 */

type Queryable = DataSource | EntityManager;

const PRODUCT_COLUMNS = `p.id, p.sku, p.name, p.description, p.price_cents, p.currency, p.category_id, p.tags, p.stock, p.version, p.created_at, p.updated_at`;
const RECOMMENDABLE = `NOT p.deleted AND p.stock > 0`;

interface ProductRow {
  id: string;
  sku: string;
  name: string;
  description: string | null;
  price_cents: number;
  currency: string;
  category_id: string | null;
  tags: string[];
  stock: number;
  version: number;
  created_at: Date;
  updated_at: Date;
  score: number;
}

function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    priceCents: row.price_cents,
    currency: row.currency,
    categoryId: row.category_id,
    tags: row.tags,
    stock: row.stock,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    version: row.version,
  };
}

function toItems(rows: ProductRow[], reason: RecommendationReason): RecommendedItem[] {
  return rows.map((row) => ({ product: toProduct(row), score: Number(row.score), reason }));
}

export class Recommender {
  constructor(
    private readonly db: Queryable,
    private readonly settings: ModelSettings,
    /** The time popularity is decayed to (tests fix it). */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Products bought together with this one, best first, topped up with popular products of its
   * category and then of the whole shop. `null` when the product is unknown or deleted.
   */
  async forProduct(productId: string, limit: number): Promise<RecommendedItem[] | null> {
    const [product]: { category_id: string | null }[] = await this.db.query(`SELECT category_id FROM products WHERE id = $1 AND NOT deleted`, [productId]);
    if (!product) return null;
    const { minPairCustomers, shrinkage, neighbourCandidates } = this.settings;
    const rows: ProductRow[] = await this.db.query(
      `WITH candidates AS (
         SELECT other_id, customers FROM pair_counts
         WHERE product_id = $1 AND customers >= $2
         ORDER BY customers DESC, other_id
         LIMIT $3
       )
       SELECT ${PRODUCT_COLUMNS},
              c.customers / sqrt(me.customers::double precision * s.customers) * (c.customers / (c.customers + $4::double precision)) AS score
       FROM candidates c
       JOIN item_stats me ON me.product_id = $1
       JOIN item_stats s ON s.product_id = c.other_id
       JOIN products p ON p.id = c.other_id AND ${RECOMMENDABLE}
       ORDER BY score DESC, p.id
       LIMIT $5`,
      [productId, minPairCustomers, neighbourCandidates, shrinkage, limit],
    );
    const items = toItems(rows, 'bought-together');
    const exclude = [productId, ...rows.map((row) => row.id)];
    if (items.length < limit && product.category_id !== null) {
      items.push(...(await this.popular(limit - items.length, exclude, product.category_id)));
    }
    if (items.length < limit) {
      items.push(...(await this.popular(limit - items.length, [...exclude, ...items.map((item) => item.product.id)], null)));
    }
    return items;
  }

  /**
   * For one customer: products similar to the ones they bought (the sum of the similarities to
   * each), never one they already bought; popular products when that is not enough.
   */
  async forCustomer(userId: string, limit: number): Promise<RecommendedItem[]> {
    const { minPairCustomers, shrinkage, neighbourCandidates, personalHistoryLimit } = this.settings;
    const rows: ProductRow[] = await this.db.query(
      `WITH history AS (
         SELECT product_id FROM user_items WHERE user_id = $1 ORDER BY orders DESC, product_id LIMIT $5
       ), bought AS (
         SELECT product_id FROM user_items WHERE user_id = $1
       ), candidates AS (
         SELECT h.product_id AS source_id, c.other_id, c.customers
         FROM history h
         CROSS JOIN LATERAL (
           SELECT other_id, customers FROM pair_counts
           WHERE product_id = h.product_id AND customers >= $2
           ORDER BY customers DESC, other_id
           LIMIT $3
         ) c
       ), scored AS (
         SELECT c.other_id, sum(c.customers / sqrt(src.customers::double precision * s.customers) * (c.customers / (c.customers + $4::double precision))) AS score
         FROM candidates c
         JOIN item_stats src ON src.product_id = c.source_id
         JOIN item_stats s ON s.product_id = c.other_id
         WHERE c.other_id NOT IN (SELECT product_id FROM bought)
         GROUP BY c.other_id
       )
       SELECT ${PRODUCT_COLUMNS}, sc.score
       FROM scored sc JOIN products p ON p.id = sc.other_id AND ${RECOMMENDABLE}
       ORDER BY sc.score DESC, p.id
       LIMIT $6`,
      [userId, minPairCustomers, neighbourCandidates, shrinkage, personalHistoryLimit, limit],
    );
    const items = toItems(rows, 'similar-to-your-orders');
    if (items.length < limit) {
      const bought: { product_id: string }[] = await this.db.query(`SELECT product_id FROM user_items WHERE user_id = $1`, [userId]);
      const exclude = [...bought.map((row) => row.product_id), ...rows.map((row) => row.id)];
      items.push(...(await this.popular(limit - items.length, exclude, null)));
    }
    return items;
  }

  /**
   * The most bought products lately, of one category or of the shop: the score is the number of
   * customer-orders, each discounted by half per half-life since it was confirmed.
   */
  private async popular(limit: number, exclude: string[], categoryId: string | null): Promise<RecommendedItem[]> {
    const decayNow = `power(2::double precision, -($5::double precision - ${POPULARITY_EPOCH_SECONDS}) / $3::double precision)`;
    const rows: ProductRow[] = await this.db.query(
      `SELECT ${PRODUCT_COLUMNS}, s.popularity::double precision * ${decayNow} AS score
       FROM item_stats s JOIN products p ON p.id = s.product_id AND ${RECOMMENDABLE}
       WHERE p.id <> ALL ($1::uuid[]) AND ${categoryId === null ? '$4::uuid IS NULL' : 's.category_id = $4'}
       ORDER BY s.popularity DESC, s.product_id
       LIMIT $2`,
      [exclude, limit, this.settings.halfLifeSeconds, categoryId, this.now() / 1000],
    );
    return toItems(rows, 'popular');
  }
}
