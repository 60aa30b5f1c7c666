// The event backbone: transactional outbox, relay to Redis Streams, idempotent consumers, durable dead letters.
export { appendEvent, appendEvents, type NewEvent } from './append-event';
export { OutboxRelay, type OutboxRelayOptions } from './outbox-relay';
export { StreamConsumer, type StreamConsumerOptions, type EventHandler, type EventHandlers, type Delivery } from './stream-consumer';
export {
  createOutboxTableSql,
  dropOutboxTableSql,
  createProcessedEventsTableSql,
  dropProcessedEventsTableSql,
  addOutboxTraceContextSql,
  createDeadLettersTableSql,
  createOutboxMigration,
  createOutboxConsumedTableSql,
  dropOutboxConsumedTableSql,
  createOutboxConsumedMigration,
  createProcessedEventsMigration,
  addOutboxTraceContextMigration,
  createDeadLettersMigration,
} from './tables';
export {
  countDeadLetters,
  listDeadLetters,
  findDeadLetter,
  redriveDeadLetter,
  discardDeadLetter,
  DeadLetterError,
  type DeadLetter,
  type RedriveOptions,
} from './dead-letters';
export { runDeadLetterCommand, type DeadLetterCommandOptions } from './dead-letter-command';
export { eventStream, replayStream } from './streams';
export { checkEvent, type EventCheck } from './validation';
export { silentLogger, type EventLogger } from './logger';
export { EventMetrics } from './metrics';
