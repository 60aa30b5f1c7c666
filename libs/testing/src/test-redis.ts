import { Redis } from 'ioredis';
import { TEST_REDIS_URL, uniqueName } from './test-database';

/** A Redis key prefix of this test's own; `clear` deletes its keys. */
export function createTestRedisPrefix(label: string): { prefix: string; clear: () => Promise<void> } {
  const prefix = `${uniqueName(label)}:`;
  return { prefix, clear: () => deleteKeysWithPrefix(prefix) };
}

export async function deleteKeysWithPrefix(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } catch {
    // Redis may be down on purpose in the test that just ended; leftover keys are harmless.
  } finally {
    redis.disconnect();
  }
}
