import type { Order } from '@shop/contracts';
import type { DataSource } from 'typeorm';
import type { OrderWatch } from './order-feed';
import { loadOrder } from './orders';

/** Only a safety net: the feed wakes a waiter, and tells it when it may have missed a change (it reconnected). */
const FALLBACK_POLL_MS = 1_000;

/**
 * Resolves with the order once it has left `pending`, or with its latest state after `seconds`.
 * `placed` is the order as its placement left it; `watch` was opened before that committed, so
 * no change is missed. The change that settles an order normally carries it, and then the
 * answer costs no query; the database is asked only when a change did not carry the order, when
 * the feed reconnected, or once a second if the feed said nothing.
 */
export async function waitForOrderToSettle(db: DataSource, watch: OrderWatch, placed: Order, seconds: number): Promise<Order | null> {
  const deadline = Date.now() + seconds * 1000;
  let order: Order | null = placed;
  while (order?.status === 'pending') {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return order;
    const change = await watch.next(Math.min(remaining, FALLBACK_POLL_MS));
    if (change?.status === 'pending') continue;
    order = change?.order ?? (await loadOrder(db, placed.id));
  }
  return order;
}

/** `Prefer: wait=N` (RFC 7240), N capped; other preferences are ignored. */
export function preferredWaitSeconds(header: string | undefined, max: number): number | null {
  if (!header) return null;
  for (const preference of header.split(',')) {
    const match = /^\s*wait\s*=\s*"?(\d+)"?\s*$/i.exec(preference.split(';')[0] ?? '');
    if (match?.[1] !== undefined) return Math.min(Number(match[1]), max);
  }
  return null;
}
