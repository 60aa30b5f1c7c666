import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A client's own request id is kept when it is short and plain; anything else is replaced. */
const SANE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

export function requestIdOf(request: IncomingMessage): string {
  const offered = request.headers[REQUEST_ID_HEADER];
  return typeof offered === 'string' && SANE_REQUEST_ID.test(offered) ? offered : randomUUID();
}
