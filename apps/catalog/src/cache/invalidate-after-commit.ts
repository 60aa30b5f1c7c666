import type { EntityManager, EntitySubscriberInterface } from 'typeorm';
import type { CacheLogger, ProductCache } from './product-cache';

/** On a transaction's query runner: the products whose cached copies its commit outdates. */
const PRODUCTS_CHANGED = '@shop/catalog:products-changed';

/**
 * Marks products to be invalidated in the cache once the caller's transaction commits, for code
 * that runs inside a transaction it does not own (the saga's event handlers): invalidating before
 * the commit would let a reader load the old row and cache it again between the two, where it
 * would stay until its TTL. Nothing is invalidated if the transaction rolls back.
 */
export function invalidateAfterCommit(manager: EntityManager, productIds: readonly string[]): void {
  const queryRunner = manager.queryRunner;
  if (!queryRunner?.isTransactionActive) throw new Error('invalidateAfterCommit needs the EntityManager of an open transaction');
  if (productIds.length === 0) return;
  const pending = (queryRunner.data[PRODUCTS_CHANGED] ??= new Set<string>()) as Set<string>;
  for (const id of productIds) pending.add(id);
}

/**
 * The other half of `invalidateAfterCommit`: a subscriber on the catalog's DataSource that hands
 * the marked products to the cache after the outermost commit (a savepoint's release is no commit).
 * The commit's caller waits for it, so an event is acknowledged only once readers see its effect.
 * It never throws: the data is committed whatever Redis says, and the cache remembers what it
 * could not invalidate until Redis answers again.
 */
export function productCacheInvalidator(cache: Pick<ProductCache, 'productsChanged'>, log: CacheLogger): EntitySubscriberInterface {
  return {
    afterTransactionCommit: async (event) => {
      const queryRunner = event.queryRunner;
      if (queryRunner.isTransactionActive) return;
      const pending = queryRunner.data[PRODUCTS_CHANGED] as Set<string> | undefined;
      if (!pending || pending.size === 0) return;
      try {
        await cache.productsChanged([...pending]);
      } catch (error) {
        log.warn({ err: error, productIds: [...pending] }, 'product cache: invalidation after commit failed');
      }
    },
  };
}
