import './typebox-formats';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './app-error';
import { findUnstorableText } from './storable-text';

/**
 * A time in a cursor: exactly as `toISOString` writes it, in the years PostgreSQL and
 * JavaScript both represent (1–9999). A date-time format checker alone would pass year 0,
 * which `timestamptz` refuses: a tampered cursor would have been a 500.
 */
export const CursorTimestampSchema = Type.String({
  format: 'date-time',
  pattern: '^(?!0000)\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$',
});

/** Cursors are opaque to clients: base64url JSON of the last row's sort key. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** Decodes a cursor and checks its shape; a cursor that was tampered with is a 400, never a 500. */
export function decodeCursor<T extends TSchema>(cursor: string, schema: T): Static<T> {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  // The same rule as for every other request part: a cursor is input too, only encoded.
  if (decoded === undefined || findUnstorableText(decoded, '').length > 0 || !Value.Check(schema, decoded)) {
    throw new AppError('REQUEST_VALIDATION_FAILED', 'The cursor is not valid', {
      errors: [{ path: '/querystring/cursor', message: 'is not a cursor this list issued' }],
    });
  }
  return decoded;
}

/** Sets `Link: <...>; rel="next"` pointing at the same list with the next cursor. */
export function setNextLink(request: FastifyRequest, reply: FastifyReply, nextCursor: string | null): void {
  if (nextCursor === null) return;
  const url = new URL(request.url, 'http://placeholder');
  url.searchParams.set('cursor', nextCursor);
  reply.header('link', `<${url.pathname}${url.search}>; rel="next"`);
}
