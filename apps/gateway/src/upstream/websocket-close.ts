import type { UpstreamFailure } from './upstream-error';

// What the two WebSocket proxies (GET /v1/orders/events and GraphQL's `orderUpdated`) share about
// the orders service's socket: how a failed handshake counts, and which close code passes on.

/** Close codes that may not be sent in a close frame (RFC 6455 §7.4.1) become "normal" (1005) or "error". */
export function sendableCloseCode(code: number): number {
  if (code === 1005 || code === 1006 || code === 1015 || code < 1000 || code >= 5000) return code === 1005 ? 1000 : 1011;
  return code;
}

/** A handshake that failed, as the breaker and the client need to know it. */
export function classifyHandshakeError(error: unknown): UpstreamFailure {
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unavailable';
  if (error instanceof Error && /handshake has timed out/i.test(error.message)) return 'timeout';
  return 'bad-response';
}
