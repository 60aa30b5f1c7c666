import { Counter, type Registry } from 'prom-client';
import type { CacheLookupResult } from '../cache/product-cache';

/** The catalog's own series, beside the kit's per-route and process series and the event backbone's. */
export function createCatalogMetrics(registry: Registry) {
  const cacheLookups = new Counter({
    name: 'catalog_cache_lookups_total',
    help: 'Product and list-page reads by cache result: hit, miss (loaded and stored), bypass (cache off, Redis down or failing).',
    labelNames: ['cache', 'result'] as const,
    registers: [registry],
  });
  return {
    cacheLookup: (cache: 'product' | 'list', result: CacheLookupResult) => cacheLookups.inc({ cache, result }),
    stockReservations: new Counter({
      name: 'catalog_stock_reservations_total',
      help: "Orders' reservations answered, by outcome: reserved, or the rejection reason.",
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    stockReleases: new Counter({
      name: 'catalog_stock_releases_total',
      help: 'Cancelled orders whose stock was given back (released) or that held nothing (nothing_held: a tombstone refuses a late reservation).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}
export type CatalogMetrics = ReturnType<typeof createCatalogMetrics>;
