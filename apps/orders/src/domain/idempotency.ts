import { createHash, randomUUID } from 'node:crypto';
import { withTransaction } from '@shop/db';
import { AppError } from '@shop/service-kit';
import type { DataSource, EntityManager } from 'typeorm';

/** A response as it will be replayed: status, body and Location. */
export interface StoredResponse {
  status: number;
  body: unknown;
  location?: string | undefined;
}

export type IdempotentOutcome = { replayed: false; response: StoredResponse } | { replayed: true; response: StoredResponse };

export interface IdempotencySettings {
  ttlSeconds: number;
  /** How long a claim lives without renewal; renewed every third of it while its request runs. */
  leaseMs: number;
}

const SANE_KEY = /^[\x21-\x7e]{1,255}$/;

export function assertSaneKey(key: string): void {
  if (!SANE_KEY.test(key)) {
    throw new AppError('ORDERS_INVALID_IDEMPOTENCY_KEY', 'Use 1 to 255 visible ASCII characters, e.g. a UUID', {
      errors: [{ path: '/headers/idempotency-key', message: 'must be 1 to 255 visible ASCII characters' }],
    });
  }
}

/** The same request, whatever the order of keys in its body. */
export function fingerprintOf(operation: string, body: unknown): string {
  return createHash('sha256').update(`${operation}\n${canonicalJson(body)}`).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

interface KeyRow {
  fingerprint: string;
  state: 'in_progress' | 'completed';
  response_status: number | null;
  response_body: unknown;
  response_location: string | null;
}

/**
 * Runs `work` at most once per (caller, key) within the TTL.
 * 1. The key is claimed in a short transaction of its own, so a concurrent request with the same
 *    key sees it taken at once (409) instead of waiting. The claim is a lease with a token of its
 *    own, renewed while the request runs: a request that died with its process frees the key
 *    within one lease (2 s by default), not after a fixed lock time.
 * 2. `work` runs in a second transaction that also records its response, but only under the
 *    claim's token: the effect and the record commit together, so a crash can never leave an
 *    effect without its replayable response; and a request that lost its claim (stalled past its
 *    lease while a retry took the key over) rolls back instead of running twice.
 * 3. A claim whose lease ran out may be taken over by a retry of the same request; that is safe
 *    because step 2 of the first one did not commit, and now never will.
 * Keys belong to their caller: another caller's key neither collides nor reveals anything.
 */
export async function runIdempotently(
  db: DataSource,
  settings: IdempotencySettings,
  claim: { userId: string; key: string; fingerprint: string },
  work: (manager: EntityManager) => Promise<StoredResponse>,
): Promise<IdempotentOutcome> {
  const token = randomUUID();
  const claimed: KeyRow[] = await db.query(
    `INSERT INTO idempotency_keys (user_id, key, fingerprint, state, claim_token, locked_until, expires_at)
     VALUES ($1, $2, $3, 'in_progress', $6, now() + make_interval(secs => $4), now() + make_interval(secs => $5))
     ON CONFLICT (user_id, key) DO UPDATE
       SET fingerprint = EXCLUDED.fingerprint, state = 'in_progress', claim_token = EXCLUDED.claim_token,
           locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at, created_at = now(),
           response_status = NULL, response_body = NULL, response_location = NULL
       WHERE idempotency_keys.expires_at < now()
          OR (idempotency_keys.state = 'in_progress' AND idempotency_keys.locked_until < now()
              AND idempotency_keys.fingerprint = EXCLUDED.fingerprint)
     RETURNING fingerprint`,
    [claim.userId, claim.key, claim.fingerprint, settings.leaseMs / 1000, settings.ttlSeconds, token],
  );

  if (claimed.length === 0) {
    const [existing]: KeyRow[] = await db.query(
      `SELECT fingerprint, state, response_status, response_body, response_location FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
      [claim.userId, claim.key],
    );
    if (!existing) return runIdempotently(db, settings, claim, work); // expired and purged meanwhile
    if (existing.fingerprint !== claim.fingerprint) throw new AppError('ORDERS_IDEMPOTENCY_KEY_REUSED', 'Use a new key for a different request');
    if (existing.state === 'in_progress' || existing.response_status === null) throw inProgress();
    return {
      replayed: true,
      response: { status: existing.response_status, body: existing.response_body, location: existing.response_location ?? undefined },
    };
  }

  const owned = { ...claim, token };
  const lease = renewWhileRunning(db, owned, settings.leaseMs);
  try {
    const response = await withTransaction(db, async (manager) => {
      const result = await work(manager);
      if (!(await storeResponse(manager, owned, result))) throw inProgress();
      return result;
    });
    return { replayed: false, response };
  } catch (error) {
    // Nothing was done: free the key (if it is still ours) so the client may retry, with a corrected body too.
    await db
      .query(`DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND state = 'in_progress' AND claim_token = $3`, [claim.userId, claim.key, token])
      .catch(() => undefined);
    throw error;
  } finally {
    lease.stop();
  }
}

function inProgress(): AppError {
  return new AppError('ORDERS_IDEMPOTENCY_IN_PROGRESS', 'Retry once the first request has finished', { headers: { 'retry-after': '1' } });
}

/**
 * Extends the claim's lease every third of it until stopped. A renewal that fails (the database
 * is slow or away) is not fatal: if the lease runs out meanwhile, the token check at commit time
 * is what keeps a second request from applying the same work.
 */
function renewWhileRunning(db: DataSource, claim: { userId: string; key: string; token: string }, leaseMs: number): { stop(): void } {
  const timer = setInterval(() => {
    db.query(
      `UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $4)
       WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND state = 'in_progress'`,
      [claim.userId, claim.key, claim.token, leaseMs / 1000],
    ).catch(() => undefined);
  }, Math.max(100, Math.floor(leaseMs / 3)));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Records the response under the claim's token; false when the claim is no longer this request's. */
async function storeResponse(manager: EntityManager, claim: { userId: string; key: string; token: string }, response: StoredResponse): Promise<boolean> {
  const [, affected] = (await manager.query(
    `UPDATE idempotency_keys SET state = 'completed', response_status = $4, response_body = $5, response_location = $6
     WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND state = 'in_progress'`,
    [claim.userId, claim.key, claim.token, response.status, JSON.stringify(response.body), response.location ?? null],
  )) as [unknown, number];
  return affected === 1;
}

/** After `Prefer: wait`, the response the client actually got is the one to replay. */
export async function updateStoredResponse(db: DataSource, claim: { userId: string; key: string }, response: StoredResponse): Promise<void> {
  await db.query(
    `UPDATE idempotency_keys SET response_status = $3, response_body = $4, response_location = $5
     WHERE user_id = $1 AND key = $2 AND state = 'completed'`,
    [claim.userId, claim.key, response.status, JSON.stringify(response.body), response.location ?? null],
  );
}

/** Expired keys are only dead weight; they are also ignored by the claim, so purging is housekeeping. */
export async function purgeExpiredKeys(db: DataSource): Promise<number> {
  const result: [unknown[], number] = await db.query(`DELETE FROM idempotency_keys WHERE expires_at < now()`);
  return result[1] ?? 0;
}
