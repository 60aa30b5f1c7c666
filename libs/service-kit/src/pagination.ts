import './typebox-formats';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './app-error';

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
  if (decoded === undefined || !Value.Check(schema, decoded)) {
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
