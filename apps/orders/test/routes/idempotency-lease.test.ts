import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { fingerprintOf, runIdempotently } from '../../src/domain/idempotency';
import { bearer, build, problemOf } from '../helper';

const LEASE_MS = 2_000; // the default

t.test('a key claimed by a request that died is free again within one lease', async (t) => {
  const { app, env, tokens } = await build(t, { IDEMPOTENCY_LEASE_MS: String(LEASE_MS) });
  const userId = randomUUID();
  const token = await tokens.tokenFor({ userId });
  const key = randomUUID();
  const body = { items: [{ productId: randomUUID(), quantity: 1 }] };
  const place = () => app.inject({ method: 'POST', url: '/v1/orders', payload: body, headers: { ...bearer(token), 'idempotency-key': key } });

  const child = spawn(process.execPath, ['--import=tsx', fileURLToPath(new URL('../fixtures/claims-key-then-hangs.ts', import.meta.url))], {
    env: { ...process.env, DATABASE_URL: env.DATABASE_URL, USER_ID: userId, KEY: key, FINGERPRINT: fingerprintOf('POST /v1/orders', body), LEASE_MS: String(LEASE_MS) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('claimed') && resolve());
    child.once('exit', (code) => reject(new Error(`the claiming process exited early (${code})`)));
  });

  // Held past several renewals: the claim of a live request does not lapse.
  await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 1.5));
  const whileAlive = await place();
  t.equal(whileAlive.statusCode, 409, 'while that request is alive, a retry is told it is running');
  t.equal(problemOf(whileAlive).code, 'ORDERS_IDEMPOTENCY_IN_PROGRESS');

  child.kill('SIGKILL');
  const killedAt = Date.now();
  let answer = await place();
  let conflicts = 0;
  while (answer.statusCode === 409 && Date.now() - killedAt < 10_000) {
    conflicts += 1;
    await new Promise((resolve) => setTimeout(resolve, 100));
    answer = await place();
  }
  const freedAfterMs = Date.now() - killedAt;
  t.equal(answer.statusCode, 201, 'the retry runs once the dead claim is free');
  t.ok(conflicts > 0, 'not before its lease ran out');
  t.ok(freedAfterMs <= LEASE_MS + 3_000, `free ${freedAfterMs} ms after the crash (lease ${LEASE_MS} ms; was 19 s)`);
  t.comment(`key free ${freedAfterMs} ms after the process holding it was killed`);
  const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM orders WHERE user_id = $1`, [userId]);
  t.equal(n, 1, 'one order');
});

t.test('a live request keeps its claim however long it runs, and one that lost it rolls back', async (t) => {
  const { app } = await build(t);
  // A lease long enough that a stall of a few hundred ms on a busy machine cannot let it lapse
  // between two renewals (every third of it), checked at rounds that together outlast it twice.
  const leaseMs = 1_000;
  const roundMs = 500;
  const settings = { ttlSeconds: 3_600, leaseMs };
  const userId = randomUUID();
  const claim = { userId, key: randomUUID(), fingerprint: 'same request' };
  const record = (manager: { query: (sql: string, params: unknown[]) => Promise<unknown> }, marker: string) =>
    manager.query(`INSERT INTO orders (id, user_id, status, currency) VALUES ($1, $2, 'pending', 'USD')`, [marker, userId]);

  // The work runs only once the claim is committed: the retries below start from there, not
  // from a guess at how long the claim takes.
  let entered!: () => void;
  const working = new Promise<void>((resolve) => (entered = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  t.teardown(() => release());
  const first = runIdempotently(app.db, settings, claim, async (manager) => {
    entered();
    await record(manager, randomUUID());
    await gate;
    return { status: 201, body: { first: true } };
  });
  await working;
  for (let round = 0; round < 4; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, roundMs));
    await t.rejects(
      runIdempotently(app.db, settings, claim, async () => ({ status: 201, body: { second: true } })),
      { code: 'ORDERS_IDEMPOTENCY_IN_PROGRESS' },
      `${(round + 1) * roundMs} ms in (lease ${leaseMs} ms): still claimed`,
    );
  }
  release();
  t.same((await first).response.body, { first: true });
  const replay = await runIdempotently(app.db, settings, claim, async () => ({ status: 201, body: { second: true } }));
  t.match(replay, { replayed: true, response: { body: { first: true } } });

  // A request stalled past its lease while a retry took the key over: its commit must not count.
  const stalled = { ...claim, key: randomUUID() };
  let stalledEntered!: () => void;
  const stalledWorking = new Promise<void>((resolve) => (stalledEntered = resolve));
  let resume!: () => void;
  const stall = new Promise<void>((resolve) => (resume = resolve));
  t.teardown(() => resume());
  const stalledRun = runIdempotently(app.db, settings, stalled, async (manager) => {
    stalledEntered();
    await record(manager, randomUUID());
    await stall;
    return { status: 201, body: { stalled: true } };
  });
  // Its claim is committed once its work runs; only then is there a row for the takeover to change.
  await stalledWorking;
  // What a retry's takeover does to the row: a new token.
  await app.db.query(`UPDATE idempotency_keys SET claim_token = $3 WHERE user_id = $1 AND key = $2`, [userId, stalled.key, randomUUID()]);
  resume();
  await t.rejects(stalledRun, { code: 'ORDERS_IDEMPOTENCY_IN_PROGRESS' }, 'the request that lost its claim fails');
  const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM orders WHERE user_id = $1`, [userId]);
  t.equal(n, 1, 'and its work was rolled back: only the first request’s row exists');
});
