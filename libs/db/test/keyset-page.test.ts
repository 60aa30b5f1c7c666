import { randomUUID } from 'node:crypto';
import { AppError, encodeCursor } from '@shop/service-kit';
import t from 'tap';
import type { DataSource } from 'typeorm';
import { createDataSource, pageByCreation, runMigrations } from '../src/index';
import { createTestDatabase, NoteEntity, notesSchema, type Note } from './helper';

const BASE = Date.parse('2024-01-01T00:00:00.000Z');

async function insertNote(dataSource: DataSource, title: string, createdAt: Date, id: string = randomUUID()): Promise<Note> {
  await dataSource.getRepository(NoteEntity).insert({ id, title, createdAt });
  return { id, title, createdAt };
}

/** Creation order as the database sorts it: created_at, then id (uuid order is byte order). */
function byCreation(a: Note, b: Note): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Inserts and deletes rows that are not part of the original set, for as long as the walk runs,
 * at times before, among and after the original rows, some on the very same millisecond.
 */
function startChurn(dataSource: DataSource, originals: Note[]) {
  let running = true;
  let writes = 0;
  const churned: string[] = [];
  const done = (async () => {
    for (let round = 0; running; round += 1) {
      const around = originals[(round * 7) % originals.length]!.createdAt.getTime();
      for (const at of [BASE - 1000 - round, around, around + 1, Date.now() + round]) {
        const note = await insertNote(dataSource, `churn ${round} ${at}`, new Date(at));
        churned.push(note.id);
        writes += 1;
      }
      const victim = churned.splice((round * 3) % churned.length, 1)[0];
      if (victim) await dataSource.getRepository(NoteEntity).delete({ id: victim });
      writes += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return {
    writes: () => writes,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function walk(dataSource: DataSource, options: { limit: number; newestFirst?: boolean; betweenPages?: () => Promise<void> }) {
  const seen: Note[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await pageByCreation(dataSource.getRepository(NoteEntity).createQueryBuilder('note'), {
      limit: options.limit,
      cursor,
      ...(options.newestFirst ? { newestFirst: true } : {}),
    });
    pages += 1;
    if (page.rows.length > options.limit) throw new Error('a page longer than its limit');
    seen.push(...page.rows);
    cursor = page.nextCursor ?? undefined;
    await options.betweenPages?.();
  } while (cursor !== undefined && pages < 500);
  return { seen, pages };
}

t.test('pageByCreation', async (t) => {
  const url = await createTestDatabase(t, 'keyset');
  await runMigrations({ url, ...notesSchema });
  const dataSource = createDataSource({ url, ...notesSchema });
  await dataSource.initialize();
  t.teardown(() => dataSource.destroy());

  // Three rows on each millisecond, so the id has to break ties.
  const originals: Note[] = [];
  for (let index = 0; index < 30; index += 1) {
    originals.push(await insertNote(dataSource, `original ${index}`, new Date(BASE + Math.floor(index / 3))));
  }
  const oldestFirst = [...originals].sort(byCreation).map((note) => note.id);
  const originalIds = new Set(oldestFirst);

  t.test('walks every row once, oldest first, on a quiet table', async (t) => {
    const { seen, pages } = await walk(dataSource, { limit: 4 });
    t.same(
      seen.map((note) => note.id),
      oldestFirst,
    );
    t.equal(pages, 8);
    t.ok(seen.every((note) => note.createdAt instanceof Date));
  });

  t.test('the last page has no next cursor, even when it is full', async (t) => {
    const { pages } = await walk(dataSource, { limit: 10 });
    t.equal(pages, 3, '30 rows in pages of 10: no empty fourth page');
  });

  for (const newestFirst of [false, true]) {
    t.test(`while rows are inserted and deleted concurrently (${newestFirst ? 'newest' : 'oldest'} first)`, async (t) => {
      const churn = startChurn(dataSource, originals);
      let betweenPages = 0;
      const { seen } = await walk(dataSource, {
        limit: 3,
        newestFirst,
        // Give the churn room between pages, whatever the machine's speed.
        betweenPages: async () => {
          betweenPages += 1;
          const target = churn.writes() + 2;
          const deadline = Date.now() + 10_000;
          while (churn.writes() < target && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        },
      });
      await churn.stop();
      t.ok(churn.writes() >= betweenPages, `the table changed during the walk (${churn.writes()} writes over ${betweenPages} pages)`);

      const ids = seen.map((note) => note.id);
      t.equal(new Set(ids).size, ids.length, 'no row is repeated');
      const expected = newestFirst ? [...oldestFirst].reverse() : oldestFirst;
      t.same(
        ids.filter((id) => originalIds.has(id)),
        expected,
        'every row that existed throughout appears once, in order',
      );
      const sorted = [...seen].sort(byCreation);
      t.same(ids, (newestFirst ? sorted.reverse() : sorted).map((note) => note.id), 'the whole walk is in order');

      await dataSource
        .getRepository(NoteEntity)
        .createQueryBuilder()
        .delete()
        .where('title LIKE :churn', { churn: 'churn %' })
        .execute();
    });
  }

  t.test('keeps the filters of the query it is given', async (t) => {
    const titles: string[] = [];
    let cursor: string | undefined;
    do {
      const query = dataSource.getRepository(NoteEntity).createQueryBuilder('note').where('note.title LIKE :prefix', { prefix: 'original 1%' });
      const page = await pageByCreation(query, { limit: 5, cursor });
      titles.push(...page.rows.map((note) => note.title));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    const expected = originals.filter((note) => note.title.startsWith('original 1')).sort(byCreation);
    t.same(
      titles,
      expected.map((note) => note.title),
    );
    t.equal(titles.length, 11);
  });

  t.test('a tampered cursor is a 400 AppError, never a 500', async (t) => {
    const [, id] = [originals[0]!.createdAt.toISOString(), originals[0]!.id];
    const tampered = [
      'garbage',
      encodeCursor({ createdAt: BASE, id }),
      encodeCursor(['2024-01-01T00:00:00.000Z']),
      encodeCursor(['not a date', id]),
      encodeCursor(['2024-01-01T00:00:00.000Z', "x' OR '1'='1"]),
      // Well-formed to a format checker, refused by PostgreSQL: must be caught before the query.
      encodeCursor(['2024-01-01T00:00:00.000Z', `urn:uuid:${id}`]),
      encodeCursor(['2016-12-31T23:59:60Z', id]),
      encodeCursor(['2024-01-01T01:00:00.000+01:00', id]),
    ];
    for (const cursor of tampered) {
      const error = await pageByCreation(dataSource.getRepository(NoteEntity).createQueryBuilder('note'), { limit: 5, cursor }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      t.ok(error instanceof AppError, `refused as a client error: ${Buffer.from(cursor, 'base64url').toString()}`);
      t.match(error, { statusCode: 400, code: 'REQUEST_VALIDATION_FAILED' });
    }

    // Year 0 passes every format check and made PostgreSQL fail when sent as text: no list
    // issues it, so it is refused like any other cursor this list did not issue.
    const yearZero = await pageByCreation(dataSource.getRepository(NoteEntity).createQueryBuilder('note'), {
      limit: 5,
      cursor: encodeCursor(['0000-01-01T00:00:00.000Z', id]),
    }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    t.match(yearZero, { statusCode: 400, code: 'REQUEST_VALIDATION_FAILED' }, 'year 0 is a 400, as in every other list');
  });
});
