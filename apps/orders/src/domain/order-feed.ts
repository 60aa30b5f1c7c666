import { EventEmitter } from 'node:events';
import { currentTraceCarrier, type TraceCarrier } from '@shop/telemetry';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import type { EntityManager } from 'typeorm';

const CHANNEL = 'order_changed';

export interface OrderChange {
  orderId: string;
  userId: string;
  /** The trace of the transaction that made the change (tracing on), so its push joins that trace. */
  traceContext?: TraceCarrier;
}

/**
 * Announces a change of an order. NOTIFY is transactional: listeners hear of it only if and when
 * the transaction commits, so nobody is ever told about a change that was rolled back.
 */
export async function notifyOrderChanged(manager: EntityManager, order: { id: string; userId: string }): Promise<void> {
  const traceContext = currentTraceCarrier();
  const change: OrderChange = { orderId: order.id, userId: order.userId, ...(traceContext ? { traceContext } : {}) };
  await manager.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(change)]);
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
        this.emit('change', JSON.parse(message.payload) as OrderChange);
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
