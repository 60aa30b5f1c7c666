import { scrapeTimeGauge } from '@shop/service-kit';
import { Histogram, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { SagaOutcome } from '../domain/orders';

/** Placed → final: most end within tens of milliseconds; the contract's bound is 2 s. */
const SAGA_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

/**
 * Orders' own series: the saga's duration, counted once its final state committed, and, at scrape
 * time, orders by status and the age of the oldest pending one (the alert on the contract's 2 s).
 */
export function createOrdersMetrics(registry: Registry, db: DataSource) {
  const sagaDuration = new Histogram({
    name: 'orders_saga_duration_seconds',
    help: 'From an order being placed to its final state (confirmed, rejected, or cancelled while pending).',
    labelNames: ['outcome'] as const,
    buckets: SAGA_BUCKETS,
    registers: [registry],
  });
  scrapeTimeGauge(registry, { name: 'orders_by_status', help: 'Orders in the database, by status.', labelNames: ['status'] as const }, async (gauge) => {
    // Every status appears, at 0 when there is none, so a rule can tell "none" from "unknown".
    for (const status of ['pending', 'confirmed', 'rejected', 'cancelled']) gauge.set({ status }, 0);
    const rows: { status: string; count: number }[] = await db.query(`SELECT status, count(*)::int AS count FROM orders GROUP BY status`);
    for (const { status, count } of rows) gauge.set({ status }, count);
  });
  scrapeTimeGauge(
    registry,
    { name: 'orders_oldest_pending_age_seconds', help: 'Age of the oldest pending order; 0 when none is pending.', labelNames: [] as const },
    async (gauge) => {
      // The (status, created_at) index answers this with one row.
      const [row]: { age: number }[] = await db.query(
        `SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age FROM orders WHERE status = 'pending'`,
      );
      gauge.set(row?.age ?? 0);
    },
  );
  return {
    sagaEnded: (outcome: SagaOutcome, placedAt: Date) => sagaDuration.observe({ outcome }, Math.max(0, (Date.now() - placedAt.getTime()) / 1000)),
  };
}
export type OrdersMetrics = ReturnType<typeof createOrdersMetrics>;
