import { Type } from '@sinclair/typebox';
import t from 'tap';
import { AppError, createService, CursorTimestampSchema, decodeCursor, encodeCursor, setNextLink } from '../src/index';
import { captureLogs, problemOf } from './helper';

const PositionSchema = Type.Tuple([Type.String({ format: 'date-time' }), Type.String({ format: 'uuid' })]);
const position: [string, string] = ['2024-05-01T10:20:30.123Z', '3f1c2a4e-8b7d-4c6e-9a0b-1d2e3f4a5b6c'];

t.test('a cursor round-trips and is URL-safe', async (t) => {
  const cursor = encodeCursor(position);
  t.match(cursor, /^[A-Za-z0-9_-]+$/, 'base64url, no padding');
  t.same(decodeCursor(cursor, PositionSchema), position);
  t.same(decodeCursor(encodeCursor({ n: 1, s: 'ü/?' }), Type.Object({ n: Type.Number(), s: Type.String() })), { n: 1, s: 'ü/?' });
});

t.test('a tampered or garbage cursor is a 400 AppError, never a 500', async (t) => {
  const tampered = [
    'garbage',
    '',
    '!!!!',
    encodeCursor(null),
    encodeCursor('just a string'),
    encodeCursor([position[0]]),
    encodeCursor([position[0], position[1], 'extra']),
    encodeCursor(['yesterday', position[1]]),
    encodeCursor([position[0], 'not-a-uuid']),
    encodeCursor([position[0], `urn:uuid:${position[1]}`]),
    encodeCursor([1714558830123, position[1]]),
    Buffer.from('{"broken json').toString('base64url'),
    encodeCursor(position).slice(0, -3),
  ];
  for (const cursor of tampered) {
    let thrown: unknown;
    try {
      decodeCursor(cursor, PositionSchema);
    } catch (error) {
      thrown = error;
    }
    t.ok(thrown instanceof AppError, `refused: ${JSON.stringify(cursor)}`);
    t.match(thrown, { statusCode: 400, code: 'REQUEST_VALIDATION_FAILED', options: { errors: [{ path: '/querystring/cursor' }] } });
  }
});

t.test('setNextLink', async (t) => {
  const app = await createService({ name: 'p', version: '1', description: 'p', logLevel: 'silent', trustProxy: false, logStream: captureLogs().stream });
  t.teardown(() => app.close());
  app.get('/items', async (request, reply) => {
    const { next } = request.query as { next?: string };
    setNextLink(request, reply, next === undefined ? null : next);
    return { ok: true };
  });
  app.get('/bad-cursor', async () => decodeCursor('garbage', PositionSchema));

  const cursor = encodeCursor(position);
  const response = await app.inject({ method: 'GET', url: `/items?limit=5&q=a%20b&cursor=old&next=${cursor}` });
  const link = response.headers.link as string;
  t.match(link, /^<\/items\?[^>]+>; rel="next"$/);
  const target = new URL(link.slice(1, link.indexOf('>')), 'http://x');
  t.equal(target.pathname, '/items');
  t.equal(target.searchParams.get('cursor'), cursor, 'the new cursor replaces the old one');
  t.same(target.searchParams.getAll('cursor'), [cursor]);
  t.equal(target.searchParams.get('limit'), '5', 'other parameters are kept');
  t.equal(target.searchParams.get('q'), 'a b');

  const last = await app.inject({ method: 'GET', url: '/items?limit=5' });
  t.notOk(last.headers.link, 'no Link on the last page');

  const bad = await app.inject({ method: 'GET', url: '/bad-cursor' });
  t.equal(bad.statusCode, 400);
  t.match(problemOf(bad), { code: 'REQUEST_VALIDATION_FAILED', errors: [{ path: '/querystring/cursor' }] });
});

t.test('cursor values obey the rules of every other input: storable text, times PostgreSQL can hold', async (t) => {
  const NameSchema = Type.Tuple([Type.String(), Type.String({ format: 'uuid' })]);
  for (const name of ['a\u0000b', 'a\ud800b']) {
    t.throws(() => decodeCursor(encodeCursor([name, position[1]]), NameSchema), { code: 'REQUEST_VALIDATION_FAILED' }, JSON.stringify(name));
  }
  const TimeSchema = Type.Tuple([CursorTimestampSchema, Type.String({ format: 'uuid' })]);
  t.same(decodeCursor(encodeCursor(position), TimeSchema), position);
  for (const time of ['0000-01-01T00:00:00.000Z', '2024-13-01T00:00:00.000Z', '2024-05-01T10:20:30Z', '+275760-09-13T00:00:00.000Z', '2024-05-01T10:20:30.123+01:00']) {
    t.throws(() => decodeCursor(encodeCursor([time, position[1]]), TimeSchema), { code: 'REQUEST_VALIDATION_FAILED' }, time);
  }
});
