import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

interface ConnectionState {
  /** Requests read and not yet answered; pipelined ones wait behind the first. */
  requests: Set<IncomingMessage>;
  /** When its last answer finished (or it connected): a client that just got one may be sending the next. */
  idleSince: number;
}

export interface DrainOptions {
  /** The longest the requests in flight at the signal may take; then every connection is cut. */
  graceMs: number;
  /** A connection that has been quiet this long is closed; a busier one gets its next request answered 503 first. */
  quietMs?: number;
  /** The longest to wait for connections to go quiet once the work is done. */
  lingerMs?: number;
}

const POLL_MS = 10;

/**
 * Closing an HTTP server without resetting a single request.
 *
 * Node's `server.close()` (and Fastify's `forceCloseConnections: 'idle'`) destroys every
 * keep-alive connection that is between two requests at that instant. Under load many of them
 * already hold their next request, unread in the kernel; destroying a socket with unread data
 * sends a TCP reset, and the client loses a request it had every right to send. So the drain
 * runs in stages, while the service answers every new request with 503 and `Connection: close`
 * (readiness included, so a load balancer on an open connection stops sending):
 *
 * 1. it stops listening at once, but leaves open connections alone: a new connection is refused,
 *    which tells the client plainly that nothing was sent (listening on would make the clients
 *    that the 503s send to new connections pile up in the accept queue, and closing a listener
 *    resets what waits there);
 * 2. it waits for the requests in flight at the signal, up to the grace period;
 * 3. it waits until each open connection has been quiet for `quietMs`: one in active use gets its
 *    next request, the 503 with `Connection: close`, and is closed cleanly after that answer;
 * 4. only then it closes the connections left, which nobody is using, and waits for the last
 *    answers to be written. Whatever is still open when the grace period ends is cut.
 *
 * A connection that stayed quiet for `quietMs` and sends exactly as it is closed can still meet a
 * reset: that race is inherent to HTTP keep-alive (RFC 9112 §9.6) and clients retry idempotent
 * requests for it. Upgraded connections (WebSockets) are left to their own plugin.
 */
export class ConnectionDrain {
  readonly #server: Server;
  readonly #connections = new Map<Socket, ConnectionState>();
  readonly #inFlight = new Set<IncomingMessage>();

  constructor(server: Server) {
    this.#server = server;
    server.on('connection', (socket: Socket) => {
      const state: ConnectionState = { requests: new Set(), idleSince: Date.now() };
      this.#connections.set(socket, state);
      socket.once('close', () => {
        this.#connections.delete(socket);
        // Answers queued behind one that closed the connection are never written, nor closed.
        for (const request of state.requests) this.#inFlight.delete(request);
      });
    });
    server.on('request', (request: IncomingMessage, response) => {
      const state = this.#connections.get(request.socket);
      state?.requests.add(request);
      this.#inFlight.add(request);
      response.once('close', () => {
        this.#inFlight.delete(request);
        if (state) {
          state.requests.delete(request);
          state.idleSince = Date.now();
        }
      });
    });
    server.on('upgrade', (request: IncomingMessage) => this.#connections.delete(request.socket));
  }

  /** Resolves once every HTTP connection is closed, or the grace period is over and the rest were cut. */
  async drain({ graceMs, quietMs = 250, lingerMs = 1_500 }: DrainOptions): Promise<void> {
    const deadline = Date.now() + graceMs;
    this.#stopListening();
    const inFlightAtSignal = [...this.#inFlight];
    while (inFlightAtSignal.some((request) => this.#inFlight.has(request)) && Date.now() < deadline) await delay(POLL_MS);

    const lingerUntil = Math.min(deadline, Date.now() + lingerMs);
    while (Date.now() < lingerUntil && [...this.#connections.values()].some((state) => state.requests.size > 0 || Date.now() - state.idleSince < quietMs)) {
      await delay(POLL_MS);
    }
    this.#server.closeIdleConnections();
    // Not the server's own close callback: it also waits for upgraded connections, which close later.
    while (this.#connections.size > 0 && Date.now() < deadline) await delay(POLL_MS);
    if (this.#connections.size > 0) this.#server.closeAllConnections();
  }

  /**
   * Stops accepting connections without the idle-connection sweep `server.close()` starts with
   * (stage 1 above). Fastify's own `server.close()` later finds the server stopped, which it expects.
   */
  #stopListening(): void {
    if (!this.#server.listening) return;
    const sweep = this.#server.closeIdleConnections;
    this.#server.closeIdleConnections = () => undefined;
    try {
      this.#server.close();
    } finally {
      this.#server.closeIdleConnections = sweep;
    }
  }
}
