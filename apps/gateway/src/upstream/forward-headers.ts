import type { IncomingHttpHeaders } from 'node:http';

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus those the
 * gateway sets itself or consumes: never passed on as they came.
 */
const NOT_FORWARDED_TO_UPSTREAM = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'host',
  'content-length',
  'expect',
  // Replaced by the gateway's own values.
  'authorization',
  'x-api-key',
  'x-request-id',
  'traceparent',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'forwarded',
]);

const NOT_FORWARDED_TO_CLIENT = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // The gateway sets its own (the request id is the same one anyway).
  'x-request-id',
  'date',
]);

export interface ForwardingContext {
  requestId: string;
  /** Undefined when undici's instrumentation adds it (tracing on). */
  traceparent: string | undefined;
  /** The caller's address as the gateway established it (trusting only its own proxies). */
  clientAddress: string;
  protocol: string;
  host: string | undefined;
  /** `Bearer <token>` to send, or undefined for an anonymous request. */
  authorization: string | undefined;
}

/** Headers named in `Connection` are hop-by-hop too. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> | null {
  const connection = headers.connection;
  if (connection === undefined || connection === 'keep-alive' || connection === 'close') return null;
  return new Set(connection.split(',').map((token) => token.trim().toLowerCase()));
}

export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, context: ForwardingContext): Record<string, string | string[]> {
  const extraHopByHop = connectionTokens(incoming);
  const headers: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || NOT_FORWARDED_TO_UPSTREAM.has(name) || extraHopByHop?.has(name)) continue;
    headers[name] = value;
  }
  headers['x-request-id'] = context.requestId;
  if (context.traceparent !== undefined) headers.traceparent = context.traceparent;
  // Only the address the gateway vouches for: a client cannot smuggle one in through its own header.
  headers['x-forwarded-for'] = context.clientAddress;
  headers['x-forwarded-proto'] = context.protocol;
  if (context.host !== undefined) headers['x-forwarded-host'] = context.host;
  if (context.authorization !== undefined) headers.authorization = context.authorization;
  return headers;
}

/** Framing of content that a 204 or 304 does not have; a HEAD answer keeps its Content-Length (the GET's). */
const NO_CONTENT_FRAMING = new Set(['content-length', 'content-type', 'content-encoding', 'content-range']);

/**
 * The service's response headers as the client gets them. `withoutContent`: a 204 or 304, whose
 * framing headers are dropped whatever the service sent (a 304's Content-Length may only be the
 * 200's, which the gateway cannot check); the validators (ETag, Cache-Control, Vary, ...) stay.
 */
export function clientResponseHeaders(upstream: IncomingHttpHeaders, withoutContent = false): Record<string, string | string[]> {
  const extraHopByHop = connectionTokens(upstream);
  const headers: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || NOT_FORWARDED_TO_CLIENT.has(name) || extraHopByHop?.has(name)) continue;
    if (withoutContent && NO_CONTENT_FRAMING.has(name)) continue;
    headers[name] = value;
  }
  return headers;
}
