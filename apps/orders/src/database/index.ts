import { addOutboxTraceContextMigration, createDeadLettersMigration, createOutboxConsumedMigration, createOutboxMigration, createProcessedEventsMigration } from '@shop/events';
import { OrderEntity, OrderItemEntity } from './entities';
import { CreateOrdersSchema1763712100000 } from './migrations/1763712100000-create-orders-schema';
import { IdempotencyClaimToken1764300000000 } from './migrations/1764300000000-idempotency-claim-token';

export * from './entities';

/** Everything TypeORM needs to know about orders' own database (orders produce and consume events). */
export const ordersSchema = {
  entities: [OrderEntity, OrderItemEntity],
  migrations: [
    CreateOrdersSchema1763712100000,
    createOutboxMigration(1763712100001),
    createProcessedEventsMigration(1763712100002),
    createOutboxConsumedMigration(1763712100003),
    IdempotencyClaimToken1764300000000,
    addOutboxTraceContextMigration(1764892800000),
    createDeadLettersMigration(1764892800001),
  ],
};
