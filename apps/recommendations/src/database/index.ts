import { createDeadLettersMigration, createProcessedEventsMigration } from '@shop/events';
import { CreateRecommendationsSchema1764300000000 } from './migrations/1764300000000-create-recommendations-schema';

/**
 * Everything TypeORM needs to know about the service's own database. No entities: the model is
 * maintained by set-based SQL (one statement per event), which an ORM would only get in the way of.
 * The service consumes events and produces none, so it has `processed_events` and `dead_letters`, and no outbox.
 */
export const recommendationsSchema = {
  entities: [],
  migrations: [CreateRecommendationsSchema1764300000000, createProcessedEventsMigration(1764300000001), createDeadLettersMigration(1764892800001)],
};
