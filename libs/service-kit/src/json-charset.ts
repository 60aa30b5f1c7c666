import type { FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import { AppError } from './app-error';

const CHARSET_PARAMETER = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i;
/** RFC 8259 §8.1: JSON exchanged between systems is UTF-8. `utf8` is the WHATWG alias of the same label. */
const UTF8_LABELS = new Set(['utf-8', 'utf8']);

/**
 * Fastify picks a body parser by media type alone and reads every body as UTF-8, so
 * `application/json; charset=utf-16` would be decoded as something it is not. Only UTF-8
 * JSON is accepted: any other declared charset is a 415, before the body is read.
 */
export function refuseNonUtf8Bodies(
  request: FastifyRequest,
  _reply: FastifyReply,
  payload: RequestPayload,
  done: (error: Error | null, payload?: RequestPayload) => void,
): void {
  const { headers } = request;
  const contentType = headers['content-type'];
  const hasBody = (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;
  if (!hasBody || contentType === undefined || !contentType.includes('=')) return done(null, payload);
  const charset = CHARSET_PARAMETER.exec(contentType);
  const label = charset ? (charset[1] ?? charset[2] ?? '').trim().toLowerCase() : undefined;
  if (label === undefined || UTF8_LABELS.has(label)) return done(null, payload);
  done(new AppError('UNSUPPORTED_MEDIA_TYPE', `Bodies are UTF-8 JSON; charset=${label.slice(0, 40)} is not accepted`));
}
