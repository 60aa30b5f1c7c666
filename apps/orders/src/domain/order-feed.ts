import { EventEmitter } from 'node:events';
import type { Order, OrderStatus } from '@shop/contracts';
import { currentTraceCarrier, type TraceCarrier } from '@shop/telemetry';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import type { EntityManager } from 'typeorm';

const CHANNEL = 'order_changed';

export interface OrderChange {
  orderId: string;
  userId: string;
  /** The status the change left the order in (absent from notifications sent before it was added). */
  status?: OrderStatus;
  /**
   * The order as the API shows it, when the change settled it and it fits in a notification:
   * `Prefer: wait` answers with it without reading the order back.
   */
  order?: Order;
  /** The trace of the transaction that made the change (tracing on), so its push joins that trace. */
  traceContext?: TraceCarrier;
}

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; an order too big to carry is read back by whoever needs it. */
const MAX_PAYLOAD_BYTES = 7_900;

/**
 * Announces a change of an order. NOTIFY is transactional: listeners hear of it only if and when
 * the transaction commits, so nobody is ever told about a change that was rolled back.
 */
export async function notifyOrderChanged(manager: EntityManager, order: { id: string; userId: string; status: OrderStatus }, settled?: Order): Promise<void> {
  const traceContext = currentTraceCarrier();
  const change: OrderChange = { orderId: order.id, userId: order.userId, status: order.status, ...(traceContext ? { traceContext } : {}) };
  let payload = JSON.stringify(settled ? { ...change, order: settled } : change);
  if (Buffer.byteLength(payload) >= MAX_PAYLOAD_BYTES) payload = JSON.stringify(change);
  await manager.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
}

/**
 * One request's view of one order's changes (`OrderChangeFeed.watch`): registered before the
 * change can commit, so that none is missed, and closed when the request is done with it.
 */
export class OrderWatch {
  #latest: OrderChange | null | undefined;
  #wake: (() => void) | undefined;

  constructor(private readonly onClose: (watch: OrderWatch) => void) {}

  /** A change of the order, or null when the feed may have missed one (it reconnected) and the database must be asked. */
  deliver(change: OrderChange | null): void {
    // A missed change outranks any other: only the database can tell what it was.
    if (this.#latest !== null) this.#latest = change;
    this.#wake?.();
  }

  /** The next change (or null: ask the database), or undefined when none came within `timeoutMs`. */
  async next(timeoutMs: number): Promise<OrderChange | null | undefined> {
    if (this.#latest === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.#wake?.(), timeoutMs);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
    }
    const latest = this.#latest;
    this.#latest = undefined;
    return latest;
  }

  close(): void {
    this.#wake?.();
    this.onClose(this);
  }
}

/**
 * Every committed order change, from every replica, heard through PostgreSQL LISTEN on a
 * dedicated connection. Feeds the WebSocket and `Prefer: wait`. If the connection drops it
 * reconnects; what was missed meanwhile is still in the database (clients catch up with GET).
 */
export class OrderChangeFeed extends EventEmitter<{ change: [OrderChange] }> {
  #client: pg.Client | null = null;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  /** Watches by order id: a change reaches its order's watchers with one map lookup, whatever the number waiting. */
  readonly #watches = new Map<string, Set<OrderWatch>>();
  #connectedBefore = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly log: FastifyBaseLogger,
  ) {
    super();
    this.setMaxListeners(0);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: 'orders-change-feed' });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        const change = JSON.parse(message.payload) as OrderChange;
        for (const watch of this.#watches.get(change.orderId) ?? []) watch.deliver(change);
        this.emit('change', change);
      } catch (error) {
        this.log.warn({ err: error }, 'unreadable order change notification');
      }
    });
    client.on('error', (error) => {
      this.log.warn({ err: error }, 'order change feed connection lost');
      this.#scheduleReconnect(client);
    });
    client.on('end', () => this.#scheduleReconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.#client = client;
      // What changed while the connection was down was never heard: every watcher asks the database.
      if (this.#connectedBefore) for (const watches of this.#watches.values()) for (const watch of watches) watch.deliver(null);
      this.#connectedBefore = true;
    } catch (error) {
      this.log.warn({ err: error }, 'order change feed cannot connect; retrying');
      this.#scheduleReconnect(client);
    }
  }

  #scheduleReconnect(client: pg.Client): void {
    if (this.#stopped || this.#retry) return;
    if (this.#client === client) this.#client = null;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#connect();
    }, 1_000);
  }

  /** Follows one order's changes from now on; close the watch when done. */
  watch(orderId: string): OrderWatch {
    const watch = new OrderWatch((closed) => {
      const watches = this.#watches.get(orderId);
      watches?.delete(closed);
      if (watches?.size === 0) this.#watches.delete(orderId);
    });
    const watches = this.#watches.get(orderId) ?? new Set<OrderWatch>();
    watches.add(watch);
    this.#watches.set(orderId, watches);
    return watch;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = null;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
