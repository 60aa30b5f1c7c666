import { CategoryEntity, ProductEntity, StockReservationEntity } from './entities';
import { CreateCatalogSchema1764000000000 } from './migrations/1764000000000-create-catalog-schema';

export * from './entities';

/** Everything TypeORM needs to know about the catalog's own database. */
export const catalogSchema = {
  entities: [CategoryEntity, ProductEntity, StockReservationEntity],
  migrations: [CreateCatalogSchema1764000000000],
};
