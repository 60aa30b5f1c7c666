import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** The most of a refused body read and dropped so that its answer arrives; beyond it the connection is closed. */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;
/** How long a refused body may take to arrive before the connection is closed anyway. */
const DRAIN_TIMEOUT_MS = 5_000;

/**
 * When Fastify refuses a body it has not read (over the limit, by its declared length or as it
 * grows), it answers with `Connection: close`. Closing while the client is still sending resets
 * the connection, and a client that is still writing (fetch, Python's http.client) then reports
 * EPIPE or ECONNRESET and never reads the 413. So the rest of such a body is read and dropped
 * first, within bounds, and the connection is kept: the client hears its answer and can go on.
 * A body declared larger than the bound, or slower than the timeout, still closes the connection.
 */
export function installRefusedBodyDrain(app: FastifyInstance, isClosing: () => boolean): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    const raw = request.raw;
    if (raw.complete || reply.getHeader('connection') !== 'close' || isClosing()) return done(null, payload);
    // A client that hung up mid-body (the answer goes nowhere) leaves nothing to drain.
    if (raw.destroyed || raw.socket.destroyed) return done(null, payload);
    const declared = Number(raw.headers['content-length']);
    if (declared > DRAIN_LIMIT_BYTES) return done(null, payload);
    void drain(raw).then((drained) => {
      if (drained) reply.removeHeader('connection');
      done(null, payload);
    });
  });
}

/** Reads what is left of the request and drops it; true when it ended within the bounds. */
function drain(raw: IncomingMessage): Promise<boolean> {
  return new Promise((resolve) => {
    let received = 0;
    const finish = (drained: boolean) => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', onEnd).off('close', onClose);
      resolve(drained);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > DRAIN_LIMIT_BYTES) finish(false);
    };
    const onEnd = () => finish(true);
    const onClose = () => finish(raw.complete);
    const timer = setTimeout(() => finish(false), DRAIN_TIMEOUT_MS);
    raw.on('data', onData).once('end', onEnd).once('close', onClose);
    raw.resume();
  });
}
