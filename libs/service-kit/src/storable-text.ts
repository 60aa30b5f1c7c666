import type { ProblemFieldError } from '@shop/contracts';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { sendProblem } from './problem';

declare global {
  interface String {
    /** ES2024 (Node ≥ 20): false when the string holds a lone surrogate. */
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

/**
 * Why a string cannot be stored, or null when it can. PostgreSQL refuses NUL in `text` and
 * `jsonb` alike, and a lone surrogate (`"\ud800"` in JSON) is not Unicode at all: jsonb
 * refuses its escape and UTF-8 encoding silently replaces it. So neither is ever data here.
 */
export function unstorableTextReason(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL characters (U+0000)';
  if (!value.isWellFormed()) return 'must be well-formed Unicode (no unpaired surrogates)';
  return null;
}

/** RFC 6901 token, made printable: a key that is itself refused must not be echoed back as it is. */
function pointerToken(key: string): string {
  return key.replaceAll('\u0000', '\ufffd').toWellFormed().replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Every string in `value` (object keys included) that cannot be stored, with the JSON pointer
 * of where it is under `root`. Iterative, so a deeply nested body cannot overflow the stack;
 * stops after `limit` findings.
 */
export function findUnstorableText(value: unknown, root: string, limit = 10): ProblemFieldError[] {
  const found: ProblemFieldError[] = [];
  const pending: [unknown, string][] = [[value, root]];
  while (pending.length > 0 && found.length < limit) {
    const [current, pointer] = pending.pop()!;
    if (typeof current === 'string') {
      const reason = unstorableTextReason(current);
      if (reason !== null) found.push({ path: pointer, message: reason });
    } else if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index -= 1) pending.push([current[index], `${pointer}/${index}`]);
    } else if (current !== null && typeof current === 'object' && !Buffer.isBuffer(current)) {
      const keys = Object.keys(current);
      for (let index = keys.length - 1; index >= 0; index -= 1) {
        const key = keys[index]!;
        const keyPointer = `${pointer}/${pointerToken(key)}`;
        const reason = unstorableTextReason(key);
        if (reason !== null) found.push({ path: keyPointer, message: `property name ${reason}` });
        pending.push([(current as Record<string, unknown>)[key], keyPointer]);
      }
    }
  }
  return found;
}

/**
 * One rule for every route of every service, before any schema or handler sees the request:
 * no NUL and no unpaired surrogate anywhere in the path parameters, query, headers or body.
 * A schema could forget a pattern; this cannot, so no such string ever reaches PostgreSQL, a
 * cache key or an event (where it used to become a 500).
 */
export function refuseUnstorableText(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const errors = [
    ...findUnstorableText(request.params, '/params'),
    ...findUnstorableText(request.query, '/querystring'),
    ...findUnstorableText(request.headers, '/headers'),
    ...findUnstorableText(request.body, '/body'),
  ];
  if (errors.length === 0) return done();
  // Path parameters are ids and slugs: one that cannot even be stored names nothing.
  if (errors.every((error) => error.path.startsWith('/params/'))) {
    sendProblem(request, reply, 'RESOURCE_NOT_FOUND');
    return;
  }
  sendProblem(request, reply, 'REQUEST_VALIDATION_FAILED', 'The request holds text that cannot be stored', errors);
}
