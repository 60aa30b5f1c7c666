import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { TEST_REDIS_URL } from '@shop/testing';
import type { Redis } from 'ioredis';
import t from 'tap';
import { StreamConsumer } from '../src/index';
import { allAppliedOnce, createHarness, effectCounts, FAST_CONSUMER, placeOrders, recordEffect, waitFor } from './helper';

/** Acknowledges nothing, as a consumer that died after each commit, before its XACK, would. */
class CrashesBeforeAcknowledging extends StreamConsumer {
  committed: string[] = [];
  protected override async acknowledge(_stream: string, entryIds: readonly string[]): Promise<void> {
    this.committed.push(...entryIds);
  }
}

async function pending(redis: Redis, stream: string): Promise<[string, string, number, number][]> {
  return (await redis.xpending(stream, 'catalog', '-', '+', 100)) as [string, string, number, number][];
}

t.test('events committed but not acknowledged are re-read on restart and applied once', async (t) => {
  const harness = await createHarness(t, 'events-crash-restart');
  const ids = await placeOrders(harness.dataSource, 5);
  harness.relay().start();
  const crashing = harness.track(
    new CrashesBeforeAcknowledging({
      redis: harness.redis,
      dataSource: harness.dataSource,
      group: 'catalog',
      consumerName: 'worker-1',
      streams: [harness.stream],
      handlers: { 'order.placed.v1': recordEffect('catalog') },
      ...FAST_CONSUMER,
      claimIdleMs: 60_000,
    }),
  );
  crashing.start();
  await waitFor('all five committed', () => allAppliedOnce(harness.dataSource, ids));
  await crashing.stop();
  t.equal((await pending(harness.redis, harness.stream)).length, 5, 'all five pending with the crashed consumer');

  // The same consumer name again: it reads its own pending entries from 0 first.
  harness.consumer({ consumerName: 'worker-1', claimIdleMs: 60_000 }).start();
  await waitFor('nothing pending', async () => (await pending(harness.redis, harness.stream)).length === 0);
  t.ok(await allAppliedOnce(harness.dataSource, ids), 'each applied exactly once');
  t.equal(harness.logger.lines.filter((line) => line.message === 'event already applied; skipped').length, 5);
});

t.test('entries left idle by a crashed consumer are claimed by another and applied once', async (t) => {
  const harness = await createHarness(t, 'events-crash-claim');
  const ids = await placeOrders(harness.dataSource, 5);
  harness.relay().start();
  const crashing = harness.track(
    new CrashesBeforeAcknowledging({
      redis: harness.redis,
      dataSource: harness.dataSource,
      group: 'catalog',
      consumerName: 'worker-1',
      streams: [harness.stream],
      handlers: { 'order.placed.v1': recordEffect('catalog') },
      ...FAST_CONSUMER,
    }),
  );
  crashing.start();
  await waitFor('all five committed', () => allAppliedOnce(harness.dataSource, ids));
  await crashing.stop();

  harness.consumer({ consumerName: 'worker-2' }).start();
  await waitFor('nothing pending', async () => (await pending(harness.redis, harness.stream)).length === 0);
  t.ok(await allAppliedOnce(harness.dataSource, ids), 'each applied exactly once');
  t.ok(harness.logger.lines.some((line) => line.message === 'claimed idle entries'), 'claimed, not re-read');
});

t.test('a consumer process killed between commit and acknowledgement: another claims its entries', async (t) => {
  const harness = await createHarness(t, 'events-crash-kill');
  const ids = await placeOrders(harness.dataSource, 3);
  harness.relay().start();
  await waitFor('all published', async () => (await harness.redis.xlen(harness.stream)) === 3);

  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/crash-before-ack.ts', import.meta.url))], {
    env: { ...process.env, DATABASE_URL: harness.databaseUrl, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: harness.prefix },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig])));
  t.equal(signal, 'SIGKILL', `the child died at the acknowledgement ${stderr}`);
  const afterCrash = await effectCounts(harness.dataSource);
  t.equal(afterCrash.get(ids[0]!), 1, 'its first event had committed');
  t.same((await pending(harness.redis, harness.stream)).map(([, consumer]) => consumer), ['doomed', 'doomed', 'doomed'], 'everything it read is pending with it');

  harness.consumer({ consumerName: 'survivor' }).start();
  await waitFor('nothing pending', async () => (await pending(harness.redis, harness.stream)).length === 0);
  t.ok(await allAppliedOnce(harness.dataSource, ids), 'each applied exactly once');
});
