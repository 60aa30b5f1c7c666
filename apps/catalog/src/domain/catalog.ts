import type {
  CategoryCreateBody,
  CategoryPatchBody,
  Page,
  Product,
  ProductListQuery,
  ProductPatchBody,
  ProductWriteBody,
  StockRequestLine,
} from '@shop/contracts';
import { withTransaction } from '@shop/db';
import type { DataSource, EntityManager } from 'typeorm';
import type { ProductCache } from '../cache/product-cache';
import type { CategoryRow, ProductRow } from '../database';
import { createCategory, deleteCategory, patchCategory } from './categories';
import type { IfMatch } from './entity-tags';
import { createProduct, deleteProduct, findProduct, listProducts, patchProduct, replaceProduct, toProduct, type ProductRules } from './products';
import { releaseStock, reserveStock, type StockRelease, type StockReservation } from './stock';

/**
 * The catalog as its callers use it: every write runs its domain function in one transaction and,
 * once committed, invalidates the cache; product reads go through the cache. Routes and the seed
 * come through here, so no path can change a product and leave a stale copy behind. The saga's
 * consumer moves stock in a transaction of its own (the consumer's) and has the cache invalidated
 * after that commit through `invalidateAfterCommit`.
 */
export class Catalog {
  constructor(
    readonly db: DataSource,
    readonly cache: ProductCache,
    readonly rules: ProductRules,
  ) {}

  getProduct(id: string): Promise<Product | null> {
    return this.cache.getProduct(id, async () => {
      const row = await findProduct(this.db, id);
      return row ? toProduct(row) : null;
    });
  }

  listProducts(query: ProductListQuery): Promise<Page<Product>> {
    return this.cache.getList({ ...query }, async () => {
      const page = await listProducts(this.db, query);
      return { items: page.rows.map(toProduct), nextCursor: page.nextCursor };
    });
  }

  createProduct(body: ProductWriteBody): Promise<ProductRow> {
    return this.#changeProduct((manager) => createProduct(manager, body, this.rules));
  }

  replaceProduct(id: string, body: ProductWriteBody, ifMatch?: IfMatch): Promise<ProductRow> {
    return this.#changeProduct((manager) => replaceProduct(manager, id, body, this.rules, ifMatch));
  }

  patchProduct(id: string, patch: ProductPatchBody, ifMatch?: IfMatch): Promise<ProductRow> {
    return this.#changeProduct((manager) => patchProduct(manager, id, patch, this.rules, ifMatch));
  }

  deleteProduct(id: string, ifMatch?: IfMatch): Promise<ProductRow> {
    return this.#changeProduct((manager) => deleteProduct(manager, id, ifMatch));
  }

  /** Categories are not cached (few, small, cheap): a committed change is all there is to it. */
  createCategory(body: CategoryCreateBody): Promise<CategoryRow> {
    return withTransaction(this.db, (manager) => createCategory(manager, body));
  }

  patchCategory(id: string, patch: CategoryPatchBody, ifMatch?: IfMatch): Promise<CategoryRow> {
    return withTransaction(this.db, (manager) => patchCategory(manager, id, patch, ifMatch));
  }

  deleteCategory(id: string, ifMatch?: IfMatch): Promise<CategoryRow> {
    return withTransaction(this.db, (manager) => deleteCategory(manager, id, ifMatch));
  }

  reserveStock(orderId: string, lines: StockRequestLine[]): Promise<StockReservation> {
    return reserveStock(this.db, orderId, lines, { afterCommit: (productIds) => this.cache.productsChanged(productIds) });
  }

  releaseStock(orderId: string): Promise<StockRelease> {
    return releaseStock(this.db, orderId, { afterCommit: (productIds) => this.cache.productsChanged(productIds) });
  }

  async #changeProduct(work: (manager: EntityManager) => Promise<ProductRow>): Promise<ProductRow> {
    const row = await withTransaction(this.db, work);
    await this.cache.productsChanged([row.id]);
    return row;
  }
}
