// The event backbone: transactional outbox, relay to Redis Streams, idempotent consumers.
export {};
