import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { startKeepAliveLoad, type KeepAliveLoad, type LoadRequest } from '@shop/testing';

interface Product {
  id: string;
  initialStock: number;
}

interface Order {
  id: string;
  status: 'pending' | 'confirmed' | 'rejected' | 'cancelled';
  items: { productId: string; quantity: number }[];
}

interface Placement {
  token: string;
  body: string;
  orderId?: string;
}

const RETRY_CONCURRENCY = 8;

async function call(baseUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/**
 * A small shop driven only through the gateway: products with known initial stock (one scarce,
 * so some orders are rejected), two customers, and a steady keep-alive load that places orders
 * (each with its own Idempotency-Key) mixed with product reads (catalog) and `/v1/auth/me` (auth),
 * so every service is under load whichever one a fault hits. It remembers every order it asked
 * for, so the books can be balanced after each fault.
 */
export class Shop {
  readonly #baseUrl: string;
  readonly #port: number;
  readonly products: Product[];
  readonly #customers: string[];
  readonly #placements = new Map<string, Placement>();
  /** Orders whose attempt failed with an answer that says it may be tried again: the load sends them again before new ones. */
  readonly #toRetry: string[] = [];
  #sequence = 0;

  private constructor(baseUrl: string, port: number, products: Product[], customers: string[]) {
    this.#baseUrl = baseUrl;
    this.#port = port;
    this.products = products;
    this.#customers = customers;
  }

  static async open(baseUrl: string, port: number, admin: { email: string; password: string }): Promise<Shop> {
    const adminToken = (await call(baseUrl, 'POST', '/v1/auth/login', admin)).body.accessToken as string;
    const products: Product[] = [];
    for (const [index, stock] of [100_000, 100_000, 100_000, 100_000, 40].entries()) {
      const created = await call(
        baseUrl, 'POST', '/v1/products',
        { sku: `FAULT-${index}-${randomUUID().slice(0, 8)}`, name: `Fault product ${index}`, priceCents: 100 + index, stock },
        { authorization: `Bearer ${adminToken}` },
      );
      if (created.status !== 201) throw new Error(`product not created: ${JSON.stringify(created)}`);
      products.push({ id: created.body.id, initialStock: stock });
    }
    const customers: string[] = [];
    for (let index = 0; index < 2; index += 1) {
      const email = `fault-${randomUUID()}@example.test`;
      await call(baseUrl, 'POST', '/v1/auth/register', { email, password: 'correct horse battery', name: 'Fault' });
      customers.push((await call(baseUrl, 'POST', '/v1/auth/login', { email, password: 'correct horse battery' })).body.accessToken);
    }
    return new Shop(baseUrl, port, products, customers);
  }

  customerToken(): string {
    return this.#customers[0]!;
  }

  /** Keep-alive load on the gateway: about 7 of 10 requests place an order. */
  startLoad(connections = 4): KeepAliveLoad {
    return startKeepAliveLoad({
      port: this.#port,
      connections,
      pauseMs: 100,
      reconnect: true,
      request: () => this.#nextRequest(),
      onResponse: (response, request) => {
        const key = request.headers?.['idempotency-key'];
        if (!key) return;
        if (response.status === 201) this.#placements.get(key)!.orderId = JSON.parse(response.body).id;
        // As a client would: the same order again, with the same key, rather than a new one.
        else if (response.status >= 500 || response.status === 409) this.#toRetry.push(key);
      },
    });
  }

  #nextRequest(): LoadRequest {
    this.#sequence += 1;
    const token = this.#customers[this.#sequence % this.#customers.length]!;
    const authorization = `Bearer ${token}`;
    const kind = this.#sequence % 10;
    if (kind === 8) return { method: 'GET', path: `/v1/products/${this.#pick().id}` };
    if (kind === 9) return { method: 'GET', path: '/v1/auth/me', headers: { authorization } };
    const retry = this.#toRetry.shift();
    if (retry) {
      const placement = this.#placements.get(retry)!;
      const headers = { authorization: `Bearer ${placement.token}`, 'content-type': 'application/json', 'idempotency-key': retry };
      return { method: 'POST', path: '/v1/orders', headers, body: placement.body };
    }
    const first = this.#pick();
    const second = this.#pick();
    const items = [{ productId: first.id, quantity: 1 + (this.#sequence % 3) }];
    if (second.id !== first.id && this.#sequence % 2 === 0) items.push({ productId: second.id, quantity: 1 });
    const key = randomUUID();
    const body = JSON.stringify({ items });
    this.#placements.set(key, { token, body });
    return { method: 'POST', path: '/v1/orders', headers: { authorization, 'content-type': 'application/json', 'idempotency-key': key }, body };
  }

  #pick(): Product {
    return this.products[Math.floor(Math.random() * this.products.length)]!;
  }

  /**
   * What a careful client does after a failure it cannot read (no answer, 5xx, 409 while the first
   * attempt's claim is held): the same request with the same key, until it has its order.
   */
  async retryUnanswered(timeoutMs: number): Promise<{ retried: number; unresolved: number }> {
    const deadline = Date.now() + timeoutMs;
    const baseUrl = this.#baseUrl;
    this.#toRetry.length = 0;
    const open = [...this.#placements].filter(([, placement]) => !placement.orderId);
    let unresolved = open.length;
    const queue = [...open];
    // A few at a time, as a client would: a stampede of retries would only trip the breakers.
    await Promise.all(
      Array.from({ length: RETRY_CONCURRENCY }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await retry(next);
      }),
    );
    return { retried: open.length, unresolved };

    async function retry([key, placement]: [string, Placement]): Promise<void> {
      while (Date.now() < deadline) {
        const answer = await call(baseUrl, 'POST', '/v1/orders', placement.body, {
          authorization: `Bearer ${placement.token}`,
          'idempotency-key': key,
        }).catch(() => undefined);
        if (answer && (answer.status === 201 || answer.status === 200)) {
          placement.orderId = answer.body.id;
          unresolved -= 1;
          return;
        }
        await delay(250);
      }
    }
  }

  /** Every order of both customers, through the API. */
  async listOrders(): Promise<Order[]> {
    const orders: Order[] = [];
    for (const token of this.#customers) {
      let cursor: string | null = null;
      do {
        const page: { status: number; body: { items: Order[]; nextCursor: string | null } } = await call(
          this.#baseUrl, 'GET', `/v1/orders?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, { authorization: `Bearer ${token}` },
        );
        if (page.status !== 200) throw new Error(`listing orders answered ${page.status}`);
        orders.push(...page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor);
    }
    return orders;
  }

  async stockOf(product: Product): Promise<number> {
    return (await call(this.#baseUrl, 'GET', `/v1/products/${product.id}`)).body.stock as number;
  }

  /** The order ids the placements ended with, by key: one per key once every retry succeeded. */
  orderIdsByKey(): Map<string, string | undefined> {
    return new Map([...this.#placements].map(([key, placement]) => [key, placement.orderId]));
  }
}
