import { MAX_PREFER_WAIT_SECONDS, type Order } from '@shop/contracts';
import { inSpan } from '@shop/telemetry';
import type { DataSource, EntityManager } from 'typeorm';
import { assertSaneKey, fingerprintOf, runIdempotently, updateStoredResponse, type IdempotencySettings, type StoredResponse } from './idempotency';
import type { OrderChangeFeed, OrderWatch } from './order-feed';
import { preferredWaitSeconds, waitForOrderToSettle } from './wait-for-order';

export interface WriteContext {
  db: DataSource;
  feed: OrderChangeFeed;
  idempotency: IdempotencySettings;
}

/** What of an order write's request decides how it runs and is answered. */
export interface WriteRequest {
  userId: string;
  /** The `Idempotency-Key` header as sent (a repeated header is no key). */
  idempotencyKey: string | string[] | undefined;
  /** The `Prefer` header as sent. */
  prefer: string;
  /** Names the operation in the key's fingerprint, e.g. `POST /v1/orders`. */
  operation: string;
  body: unknown;
}

export interface WriteOutcome {
  response: StoredResponse;
  /** The first response to this Idempotency-Key, answered again. */
  replayed: boolean;
  /** `Preference-Applied`, when `Prefer: wait` was honoured. */
  preferenceApplied: string | null;
}

/**
 * Runs an order write (a placement, a cancellation) once per Idempotency-Key when one is given,
 * and, with `Prefer: wait=N`, answers with the order once it has left `pending` (or as it is after
 * N seconds). The order's changes are watched from inside the write's transaction, before it
 * commits, so the change that settles it cannot slip by; and the answer a client finally got is
 * the one its key replays.
 */
export async function writeOnce(context: WriteContext, request: WriteRequest, work: (manager: EntityManager) => Promise<StoredResponse>): Promise<WriteOutcome> {
  const { db, feed } = context;
  const waitSeconds = preferredWaitSeconds(request.prefer, MAX_PREFER_WAIT_SECONDS);
  // Set by the work, inside its transaction (a retried claim runs it again: the last one counts).
  const watching: { watch?: OrderWatch | undefined } = {};
  const watchedWork =
    waitSeconds === null
      ? work
      : async (manager: EntityManager) => {
          const response = await work(manager);
          const order = response.body as Order;
          watching.watch?.close();
          watching.watch = order.status === 'pending' ? feed.watch(order.id) : undefined;
          return response;
        };
  try {
    let response: StoredResponse;
    let claim: { userId: string; key: string } | null = null;
    if (typeof request.idempotencyKey === 'string') {
      assertSaneKey(request.idempotencyKey);
      claim = { userId: request.userId, key: request.idempotencyKey };
      const outcome = await runIdempotently(db, context.idempotency, { ...claim, fingerprint: fingerprintOf(request.operation, request.body) }, watchedWork);
      if (outcome.replayed) return { response: outcome.response, replayed: true, preferenceApplied: null };
      response = outcome.response;
    } else {
      response = await db.transaction(watchedWork);
    }
    if (waitSeconds === null) return { response, replayed: false, preferenceApplied: null };

    const order = response.body as Order;
    const { watch } = watching;
    const settled = watch
      ? await inSpan('wait for order to settle', { attributes: { 'shop.prefer_wait_seconds': waitSeconds } }, () => waitForOrderToSettle(db, watch, order, waitSeconds))
      : order;
    response = { ...response, body: settled ?? order };
    if (claim) await updateStoredResponse(db, claim, response);
    return { response, replayed: false, preferenceApplied: `wait=${waitSeconds}` };
  } finally {
    watching.watch?.close();
  }
}
