import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';

export interface OrderLoadOptions {
  gatewayUrl: string;
  concurrency: number;
  seconds: number;
  /** Access tokens of the customers; client `i` orders as customer `i mod n`. */
  customerTokens: string[];
  productIds: string[];
  /** What `Prefer: wait` asks for. */
  waitSeconds: number;
}

export interface OrderLoadResult {
  seconds: number;
  placed: number;
  confirmed: number;
  /** Answers that were not a confirmed order, by what they were (`pending`, `rejected`, `503 …`, an error). */
  notConfirmed: Map<string, number>;
  /** POST to settled answer, in ms, every request, sorted. */
  latencies: number[];
}

/**
 * `concurrency` clients, each placing orders back to back for `seconds` through the gateway: one
 * line of a random product, an Idempotency-Key per order (as a careful client sends), and
 * `Prefer: wait`, so that each answer is the settled order and its latency POST→confirmed.
 */
export async function placeOrders(options: OrderLoadOptions): Promise<OrderLoadResult> {
  const agent = new Agent({ connections: options.concurrency, keepAliveTimeout: 10_000, pipelining: 1 });
  const latencies: number[] = [];
  const notConfirmed = new Map<string, number>();
  const count = (what: string) => notConfirmed.set(what, (notConfirmed.get(what) ?? 0) + 1);
  let confirmed = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const url = new URL('/v1/orders', options.gatewayUrl);
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, client) => {
      const token = options.customerTokens[client % options.customerTokens.length]!;
      while (performance.now() < deadline) {
        const productId = options.productIds[Math.floor(Math.random() * options.productIds.length)]!;
        const begin = performance.now();
        try {
          const response = await request(url, {
            method: 'POST',
            dispatcher: agent,
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              'idempotency-key': randomUUID(),
              prefer: `wait=${options.waitSeconds}`,
            },
            body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
            headersTimeout: (options.waitSeconds + 10) * 1000,
          });
          const body = (await response.body.json()) as { status?: string; code?: string };
          latencies.push(performance.now() - begin);
          if (response.statusCode === 201 && body.status === 'confirmed') confirmed += 1;
          else count(response.statusCode === 201 ? String(body.status) : `${response.statusCode} ${body.code ?? ''}`.trim());
        } catch (error) {
          latencies.push(performance.now() - begin);
          count((error as Error).name);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await agent.close();
  latencies.sort((a, b) => a - b);
  return { seconds, placed: latencies.length, confirmed, notConfirmed, latencies };
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
