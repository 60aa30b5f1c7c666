import { AppError } from '@shop/service-kit';

/**
 * The entity tag of a representation, made from its row version: every change bumps the version,
 * so the tag changes exactly when the representation does. Strong: equal tags mean equal bytes.
 */
export function entityTagOf(version: number): string {
  return `"v${version}"`;
}

/**
 * An `If-Match` precondition: `*` (any current representation) or the tags the client holds.
 * Weak tags never match: RFC 9110 compares `If-Match` strongly.
 */
export type IfMatch = { any: true } | { any: false; tags: string[] };

/** Parses an `If-Match` / `If-None-Match` value into its tags; undefined when the header is absent. */
export function parseEntityTags(header: string | undefined): IfMatch | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return { any: true };
  const tags = value.match(/(?:W\/)?"[^"]*"/g) ?? [];
  return { any: false, tags };
}

/** Throws 412 when the precondition does not hold for the current version. */
export function assertIfMatch(version: number, ifMatch: IfMatch | undefined): void {
  if (ifMatch === undefined || ifMatch.any) return;
  if (!ifMatch.tags.includes(entityTagOf(version))) {
    throw new AppError('PRECONDITION_FAILED', `The resource has changed; its current ETag is ${entityTagOf(version)}`);
  }
}

/** `If-None-Match` on a read: true when the client's copy is current (weak comparison), so 304. */
export function isNotModified(version: number, ifNoneMatch: string | undefined): boolean {
  const condition = parseEntityTags(ifNoneMatch);
  if (condition === undefined) return false;
  if (condition.any) return true;
  const current = entityTagOf(version);
  return condition.tags.some((tag) => tag.replace(/^W\//, '') === current);
}
