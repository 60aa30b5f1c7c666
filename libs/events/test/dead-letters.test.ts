import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@shop/contracts';
import { deleteKeysWithPrefix } from '@shop/testing';
import t from 'tap';
import type { EntityManager } from 'typeorm';
import {
  countDeadLetters,
  DeadLetterError,
  discardDeadLetter,
  findDeadLetter,
  listDeadLetters,
  redriveDeadLetter,
  runDeadLetterCommand,
  type EventHandlers,
} from '../src/index';
import { createHarness, effectCounts, recordEffect, waitFor, type Harness } from './helper';

function orderPlaced(): EventEnvelope<'order.placed.v1'> {
  return {
    id: randomUUID(),
    type: 'order.placed.v1',
    source: 'orders',
    occurredAt: new Date().toISOString(),
    payload: { orderId: randomUUID(), userId: randomUUID(), items: [{ productId: randomUUID(), quantity: 1 }] },
  };
}

/** A handler that fails while its cause is there (think: a broken deployment), and records its effect once it is fixed. */
function fixableHandlers() {
  const state = { broken: true };
  const record = recordEffect('catalog');
  const handlers: EventHandlers = {
    'order.placed.v1': async (event, manager: EntityManager) => {
      if (state.broken) throw new Error('the product table is missing a column');
      await record(event, manager);
    },
  };
  return { state, handlers };
}

async function command(harness: Harness, handlers: EventHandlers, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runDeadLetterCommand(args, {
    dataSource: harness.dataSource,
    group: 'catalog',
    handlers,
    out: (text) => (out += text),
    err: (text) => (err += text),
  });
  return { code, out, err };
}

t.test('a poison event lands in the table, survives a flush of Redis, and is re-driven once after its cause is fixed', async (t) => {
  const harness = await createHarness(t, 'events-dead-letters');
  const { state, handlers } = fixableHandlers();
  const consumer = harness.consumer({ maxDeliveries: 2, handlers });
  consumer.start();
  const poison = orderPlaced();
  await harness.redis.xadd(harness.stream, '*', 'id', poison.id, 'type', poison.type, 'event', JSON.stringify(poison));
  await waitFor('the event in the dead letters', async () => (await countDeadLetters(harness.dataSource, 'catalog')) === 1);
  await consumer.stop();

  // Everything in Redis is gone: the stream, the group, its pending entries.
  await deleteKeysWithPrefix(harness.prefix);
  t.equal(await harness.redis.exists(harness.stream), 0, 'Redis holds nothing of it any more');
  const [letter] = await listDeadLetters(harness.dataSource, 'catalog');
  t.match(letter, { consumer: 'catalog', eventId: poison.id, eventType: 'order.placed.v1', reason: 'handler_failed', deliveries: 2, detail: /missing a column/, resolution: null });
  t.same(JSON.parse(letter!.event), poison, 'the event exactly as it arrived');

  const listed = await command(harness, handlers, 'list');
  t.equal(listed.code, 0);
  t.match(listed.out, /^1 dead letter\(s\) of catalog waiting\n/);
  t.match(listed.out, new RegExp(`\\n${letter!.id}\\t.*order\\.placed\\.v1\\t${poison.id}\\thandler_failed\\tdeliveries=2\\twaiting`));
  const shown = await command(harness, handlers, 'show', letter!.id);
  t.equal(JSON.parse(shown.out).eventId, poison.id, 'show prints the whole record');

  const stillBroken = await command(harness, handlers, 'redrive', letter!.id);
  t.equal(stillBroken.code, 65, 'a re-drive while the cause is still there is refused');
  t.match(stillBroken.err, /failed again: the product table is missing a column/);
  t.equal((await findDeadLetter(harness.dataSource, 'catalog', letter!.id))!.resolution, null, 'and changes nothing');
  t.equal((await effectCounts(harness.dataSource)).size, 0);

  state.broken = false;
  const redriven = await command(harness, handlers, 'redrive', letter!.id);
  t.equal(redriven.code, 0);
  t.match(redriven.out, /re-driven: applied/);
  t.same([...(await effectCounts(harness.dataSource))], [[poison.id, 1]], 'applied');
  t.match(await findDeadLetter(harness.dataSource, 'catalog', letter!.id), { resolution: 'redriven', resolvedAt: Date });
  t.equal(await countDeadLetters(harness.dataSource, 'catalog'), 0, 'nothing waits any more');

  const again = await command(harness, handlers, 'redrive', letter!.id);
  t.equal(again.code, 65, 'a second re-drive is refused');
  t.match(again.err, /already redriven/);
  // And the same event delivered again from the stream (its producer replayed it) is a duplicate.
  const replayed = harness.consumer({ handlers });
  replayed.start();
  await harness.redis.xadd(harness.stream, '*', 'id', poison.id, 'type', poison.type, 'event', JSON.stringify(poison));
  await waitFor('the duplicate skipped', () => harness.logger.lines.some((line) => line.message === 'event already applied; skipped'));
  t.same([...(await effectCounts(harness.dataSource))], [[poison.id, 1]], 'applied exactly once');
  const all = await command(harness, handlers, 'list', '--all');
  t.match(all.out, /^0 dead letter\(s\) of catalog waiting\n/);
  t.match(all.out, new RegExp(`\n${letter!.id}\t.*\tredriven\t`), 'list --all shows resolved ones');
  t.notMatch((await command(harness, handlers, 'list')).out, /redriven/, 'list alone does not');
});

t.test('an event applied meanwhile is resolved without applying it twice; two re-drives at once apply it once', async (t) => {
  const harness = await createHarness(t, 'events-dead-letters-race');
  const { state, handlers } = fixableHandlers();
  const consumer = harness.consumer({ maxDeliveries: 1, handlers });
  consumer.start();
  const [first, second] = [orderPlaced(), orderPlaced()];
  for (const event of [first, second]) await harness.redis.xadd(harness.stream, '*', 'event', JSON.stringify(event));
  await waitFor('two dead letters', async () => (await countDeadLetters(harness.dataSource, 'catalog')) === 2);
  state.broken = false;
  // The producer replays the first: the consumer applies it from the stream.
  await harness.redis.xadd(harness.stream, '*', 'event', JSON.stringify(first));
  await waitFor('the replay applied', async () => (await effectCounts(harness.dataSource)).get(first.id) === 1);

  const [firstLetter, secondLetter] = await listDeadLetters(harness.dataSource, 'catalog');
  t.equal(await redriveDeadLetter(harness.dataSource, { group: 'catalog', handlers }, firstLetter!.id), 'already_applied');
  const outcomes = await Promise.allSettled([1, 2, 3].map(() => redriveDeadLetter(harness.dataSource, { group: 'catalog', handlers }, secondLetter!.id)));
  t.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1, 'one of three concurrent re-drives wins');
  t.ok(outcomes.every((outcome) => outcome.status === 'fulfilled' || (outcome.reason instanceof DeadLetterError && outcome.reason.code === 'already_resolved')));
  t.same(new Map([...(await effectCounts(harness.dataSource))]), new Map([[first.id, 1], [second.id, 1]]), 'each applied exactly once');
});

t.test('what cannot be re-driven is refused with a reason; discard, unknown ids and bad command lines', async (t) => {
  const harness = await createHarness(t, 'events-dead-letters-refusals');
  const { handlers } = fixableHandlers();
  const consumer = harness.consumer({ handlers });
  consumer.start();
  await harness.redis.xadd(harness.stream, '*', 'event', '{not json');
  const unknown = { ...orderPlaced(), type: 'order.exploded.v1' };
  await harness.redis.xadd(harness.stream, '*', 'event', JSON.stringify(unknown));
  await waitFor('two dead letters', async () => (await countDeadLetters(harness.dataSource, 'catalog')) === 2);
  const [notJson, unknownType] = await listDeadLetters(harness.dataSource, 'catalog');
  t.match(notJson, { reason: 'invalid_json', event: '{not json', eventId: null });
  t.match(unknownType, { reason: 'unknown_type', eventId: unknown.id, eventType: 'order.exploded.v1' });

  t.match(await command(harness, handlers, 'redrive', notJson!.id), { code: 65, err: /not JSON; it can only be discarded/ });
  t.match(await command(harness, handlers, 'redrive', unknownType!.id), { code: 65, err: /still breaks the contract \(unknown_type/ });
  // A handler this build does not have (another group's event, or one it stopped handling).
  await consumer.stop();
  const cancelled = { ...orderPlaced(), type: 'order.cancelled.v1', payload: { orderId: randomUUID(), userId: randomUUID() } };
  harness.consumer({ handlers: { ...handlers, 'order.cancelled.v1': async () => { throw new Error('no'); } }, maxDeliveries: 1 }).start();
  await harness.redis.xadd(harness.stream, '*', 'event', JSON.stringify(cancelled));
  await waitFor('three dead letters', async () => (await countDeadLetters(harness.dataSource, 'catalog')) === 3);
  const cancelledLetter = (await listDeadLetters(harness.dataSource, 'catalog')).find((letter) => letter.eventId === cancelled.id)!;
  t.match(await command(harness, handlers, 'redrive', cancelledLetter.id), { code: 65, err: /no handler for order\.cancelled\.v1/ });

  t.match(await command(harness, handlers, 'discard', notJson!.id), { code: 0, out: /discarded/ });
  t.match(await command(harness, handlers, 'discard', notJson!.id), { code: 65, err: /already resolved/ });
  await t.rejects(discardDeadLetter(harness.dataSource, 'orders', unknownType!.id), { code: 'not_found' }, "another group's dead letter is not this group's to touch");
  t.match(await command(harness, handlers, 'show', '999999'), { code: 65, err: /no dead letter 999999/ });
  t.match(await command(harness, handlers, 'show', 'drop table'), { code: 65, err: /no dead letter/ });
  t.match(await command(harness, handlers, 'redrive', '424242'), { code: 65, err: /no dead letter 424242/ });
  t.match(await command(harness, handlers), { code: 64, err: /usage: dead-letters list/ });
  t.match(await command(harness, handlers, 'redrive'), { code: 64, err: /usage/ });
  t.match(await command(harness, handlers, 'list', '--limit', 'lots'), { code: 64, err: /--limit takes a whole number/ });
  t.equal(await countDeadLetters(harness.dataSource, 'catalog'), 2, 'only the discarded one left the count');
});
