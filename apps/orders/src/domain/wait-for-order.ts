import type { Order } from '@shop/contracts';
import type { DataSource } from 'typeorm';
import type { OrderChangeFeed } from './order-feed';
import { loadOrder } from './orders';

const FALLBACK_POLL_MS = 250;

/**
 * Resolves with the order once it has left `pending`, or with its latest state after `seconds`.
 * Woken by the change feed; a slow poll covers a feed that is reconnecting.
 */
export async function waitForOrderToSettle(db: DataSource, feed: OrderChangeFeed, orderId: string, seconds: number): Promise<Order | null> {
  const deadline = Date.now() + seconds * 1000;
  let wake: () => void = () => undefined;
  const onChange = (change: { orderId: string }) => {
    if (change.orderId === orderId) wake();
  };
  feed.on('change', onChange);
  try {
    for (;;) {
      const order = await loadOrder(db, orderId);
      if (!order || order.status !== 'pending') return order;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return order;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, FALLBACK_POLL_MS));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    feed.off('change', onChange);
  }
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
