// The event backbone: transactional outbox, relay to Redis Streams, idempotent consumers.
export { appendEvent, type NewEvent } from './append-event';
export { OutboxRelay, type OutboxRelayOptions } from './outbox-relay';
export { StreamConsumer, type StreamConsumerOptions, type EventHandler, type EventHandlers, type Delivery } from './stream-consumer';
export {
  createOutboxTableSql,
  dropOutboxTableSql,
  createProcessedEventsTableSql,
  dropProcessedEventsTableSql,
  createOutboxMigration,
  createOutboxConsumedTableSql,
  dropOutboxConsumedTableSql,
  createOutboxConsumedMigration,
  createProcessedEventsMigration,
} from './tables';
export { eventStream, deadLetterStream, replayStream } from './streams';
export { checkEvent, type EventCheck } from './validation';
export { silentLogger, type EventLogger } from './logger';
