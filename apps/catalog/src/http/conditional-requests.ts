import { AppError } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { entityTagOf, isNotModified, parseEntityTags, type IfMatch } from '../domain/entity-tags';

/**
 * Reads may be stored by any cache, but must be revalidated (cheaply, with the ETag) before each
 * use: the contract promises every reader sees a change within a second, caches included.
 */
export const READ_CACHE_CONTROL = 'public, no-cache';

/** Sets `ETag` and `Cache-Control`; true when the client's copy is current and a 304 should go back. */
export function answerConditionalRead(request: FastifyRequest, reply: FastifyReply, version: number): boolean {
  reply.header('etag', entityTagOf(version)).header('cache-control', READ_CACHE_CONTROL);
  const ifNoneMatch = request.headers['if-none-match'];
  return isNotModified(version, Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch);
}

export function ifMatchOf(request: FastifyRequest): IfMatch | undefined {
  const header = request.headers['if-match'];
  return parseEntityTags(Array.isArray(header) ? header.join(',') : header);
}

/**
 * The kit accepts `application/merge-patch+json` on every route; it only means something to PATCH,
 * so POST and PUT refuse it. Runs after authentication: an anonymous caller learns first that it must sign in.
 */
export async function refuseMergePatchOutsidePatch(request: FastifyRequest): Promise<void> {
  const contentType = request.headers['content-type'];
  const takesWholeResource = request.method === 'POST' || request.method === 'PUT';
  if (takesWholeResource && contentType !== undefined && /^application\/merge-patch\+json\b/i.test(contentType)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `${request.method} takes application/json`);
  }
}
