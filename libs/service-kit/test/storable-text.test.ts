import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import t from 'tap';
import { findUnstorableText, unstorableTextReason } from '../src/storable-text';
import { buildKitApp, problemOf } from './helper';

/** Any string with at least one NUL or one unpaired surrogate in it. */
const hostileText = fc
  .tuple(fc.string(), fc.constantFrom('\u0000', '\ud800', '\udfff', '\udbff', '\udc00'), fc.string())
  .map(([before, bad, after]) => `${before}${bad}${after}`)
  // `after` may start with the low half that pairs a high surrogate: then it is well-formed again.
  .filter((text) => text.includes('\u0000') || !text.isWellFormed());

t.test('the rule: NUL and unpaired surrogates are refused, everything else is text', async (t) => {
  t.equal(unstorableTextReason('plain'), null);
  t.equal(unstorableTextReason('emoji 🍵 and ümlauts'), null, 'a surrogate pair is fine');
  t.match(unstorableTextReason('a\u0000b'), /NUL/);
  t.match(unstorableTextReason('a\ud800b'), /unpaired surrogates/);
  t.match(unstorableTextReason('\udc00'), /unpaired surrogates/, 'a lone low half too');

  fc.assert(fc.property(hostileText, (text) => unstorableTextReason(text) !== null), { seed: 11, numRuns: 500 });
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), (text) => unstorableTextReason(text.replaceAll('\u0000', '')) === null),
    { seed: 11, numRuns: 500 },
  );
});

t.test('findUnstorableText names each bad value by its JSON pointer, keys included', async (t) => {
  t.same(findUnstorableText({ a: 'ok', items: [{ name: 'x\u0000' }], tags: ['t', '\ud800'] }, '/body'), [
    { path: '/body/items/0/name', message: 'must not contain NUL characters (U+0000)' },
    { path: '/body/tags/1', message: 'must be well-formed Unicode (no unpaired surrogates)' },
  ]);
  t.same(findUnstorableText({ 'a/b~\u0000': 1 }, '/body'), [{ path: '/body/a~1b~0\ufffd', message: 'property name must not contain NUL characters (U+0000)' }]);
  t.same(findUnstorableText(Buffer.from('\u0000'), '/body'), [], 'raw bytes are not text');

  let deep: unknown = 'bottom\u0000';
  for (let depth = 0; depth < 100_000; depth += 1) deep = [deep];
  const found = findUnstorableText(deep, '/body');
  t.equal(found.length, 1, 'a body nested 100,000 deep is walked without overflowing the stack');

  fc.assert(
    fc.property(fc.jsonValue(), hostileText, (value, bad) => {
      const found = findUnstorableText({ wrapper: [value, bad] }, '/body');
      return found.some((error) => error.path === '/body/wrapper/1');
    }),
    { seed: 11, numRuns: 300 },
  );
});

t.test('every request part is checked before validation: 400 with the pointer, never a 500', async (t) => {
  const { app } = await buildKitApp(t);
  const cases: [string, InjectOptions, string][] = [
    ['NUL in a body string', { method: 'POST', url: '/widgets', payload: '{"name":"a\\u0000b","quantity":1}', headers: { 'content-type': 'application/json' } }, '/body/name'],
    ['a lone surrogate in a body string', { method: 'POST', url: '/widgets', payload: '{"name":"a\\ud800b","quantity":1}', headers: { 'content-type': 'application/json' } }, '/body/name'],
    ['NUL in the query', { method: 'GET', url: '/widgets?cursor=%00' }, '/querystring/cursor'],
    [
      'a merge patch too',
      { method: 'PATCH', url: '/widgets/6f1c8f8e-3f5c-4b53-9a0e-1c2d3e4f5a6b', payload: '{"name":"\\udfff"}', headers: { 'content-type': 'application/merge-patch+json' } },
      '/body/name',
    ],
  ];
  for (const [label, request, path] of cases) {
    const response = await app.inject(request);
    t.equal(response.statusCode, 400, label);
    t.match(problemOf(response), { code: 'REQUEST_VALIDATION_FAILED', errors: [{ path }] }, label);
  }

  const param = await app.inject({ method: 'GET', url: '/widgets/%00' });
  t.equal(param.statusCode, 404, 'a path parameter that cannot be stored names nothing');
  t.equal(problemOf(param).code, 'RESOURCE_NOT_FOUND');

  await fc.assert(
    fc.asyncProperty(hostileText, async (name) => {
      const response = await app.inject({ method: 'POST', url: '/widgets', payload: JSON.stringify({ name, quantity: 1 }), headers: { 'content-type': 'application/json' } });
      return response.statusCode === 400 && problemOf(response).code === 'REQUEST_VALIDATION_FAILED';
    }),
    { seed: 11, numRuns: 100 },
  );
  const fine = await app.inject({ method: 'POST', url: '/widgets', payload: { name: 'tea 🍵', quantity: 1 } });
  t.equal(fine.statusCode, 201, 'well-formed text passes');
});
