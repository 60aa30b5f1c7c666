import type { Redis, RedisOptions } from 'ioredis';
import type { EventLogger } from './logger';

/** The stream a service publishes to: one per producing service. */
export function eventStream(source: string): string {
  return `events:${source}`;
}

/**
 * Where a relay republishes what Redis lost. A stream beside the live one, read by the same
 * consumer groups in the same XREADGROUP, so a long replay never stands between a consumer and
 * new events: each read takes from both.
 */
export function replayStream(stream: string): string {
  return `${stream}:replay`;
}

/**
 * A connection of the library's own, cloned from the service's client (address, credentials,
 * database, key prefix), with settings the loops rely on: a command fails within `commandTimeout`
 * instead of queueing for as long as Redis is away, and reconnection goes on forever at a capped
 * pace. The loops do the retrying, with backoff, and log the outage once rather than per attempt.
 */
export function openConnection(template: Redis, overrides: RedisOptions, logger: EventLogger, label: string): Redis {
  const connection = template.duplicate({
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 2_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
    ...overrides,
  });
  let down = false;
  connection.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn({ err: error, connection: label }, 'redis unavailable; retrying until it is back');
  });
  connection.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ connection: label }, 'redis connection restored');
  });
  return connection;
}

/**
 * ioredis prefixes the keys of most commands, but not of XGROUP (its key is not in a fixed place)
 * and it leaves stream names in replies prefixed: both need the prefix handled by hand.
 */
export function keyPrefixOf(redis: Redis): string {
  return redis.options.keyPrefix ?? '';
}

export function isNoGroupError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOGROUP');
}

export function isBusyGroupError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('BUSYGROUP');
}

/** Closes politely when Redis answers, at once when it does not. */
export async function closeConnection(connection: Redis): Promise<void> {
  if (connection.status === 'ready') {
    await connection.quit().catch(() => connection.disconnect());
  } else {
    connection.disconnect();
  }
}
