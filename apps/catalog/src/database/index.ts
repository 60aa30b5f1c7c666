import { addOutboxTraceContextMigration, createDeadLettersMigration, createOutboxConsumedMigration, createOutboxMigration, createProcessedEventsMigration } from '@shop/events';
import { CategoryEntity, ProductEntity, StockReservationEntity } from './entities';
import { CreateCatalogSchema1764000000000 } from './migrations/1764000000000-create-catalog-schema';

export * from './entities';

/** Everything TypeORM needs to know about the catalog's own database (the catalog produces and consumes events). */
export const catalogSchema = {
  entities: [CategoryEntity, ProductEntity, StockReservationEntity],
  migrations: [
    CreateCatalogSchema1764000000000,
    createOutboxMigration(1764000000001),
    createProcessedEventsMigration(1764000000002),
    createOutboxConsumedMigration(1764000000003),
    addOutboxTraceContextMigration(1764892800000),
    createDeadLettersMigration(1764892800001),
  ],
};
