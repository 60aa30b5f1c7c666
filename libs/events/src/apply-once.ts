import type { EventEnvelope, EventType } from '@shop/contracts';
import type { EntityManager } from 'typeorm';
import type { Delivery, EventHandler } from './stream-consumer';

/**
 * Records the event as processed by the group and applies it, in the caller's transaction, unless
 * the group has applied it before: true when applied now. The one place an event takes effect,
 * from a stream or re-driven from the dead letters.
 */
export async function applyOnce(manager: EntityManager, group: string, handler: EventHandler<EventType>, event: EventEnvelope, delivery: Delivery): Promise<boolean> {
  const recorded = await manager.query(
    `INSERT INTO processed_events (consumer, event_id, event_type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING event_id`,
    [group, event.id, event.type],
  );
  if (recorded.length === 0) return false;
  await handler(event, manager, delivery);
  return true;
}
