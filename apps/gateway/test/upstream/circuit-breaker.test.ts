import t from 'tap';
import { CircuitBreaker } from '../../src/upstream/circuit-breaker';
import { RetryBudget } from '../../src/upstream/retry-budget';
import { classifyUpstreamError, UpstreamError } from '../../src/upstream/upstream-error';

function breakerWithClock(failureThreshold = 3, resetMs = 1_000) {
  const clock = { now: 0 };
  const breaker = new CircuitBreaker({ failureThreshold, resetMs, now: () => clock.now });
  return { breaker, clock };
}

t.test('opens after consecutive failures, and only consecutive ones', async (t) => {
  const { breaker } = breakerWithClock(3);
  breaker.recordFailure();
  breaker.recordFailure();
  breaker.recordSuccess();
  breaker.recordFailure();
  breaker.recordFailure();
  t.equal(breaker.currentState, 'closed', 'a success in between resets the count');
  t.ok(breaker.tryAcquire());
  breaker.recordFailure();
  t.equal(breaker.currentState, 'open');
  t.notOk(breaker.tryAcquire(), 'fails fast while open');
});

t.test('half-open lets exactly one probe through; its success closes the breaker', async (t) => {
  const { breaker, clock } = breakerWithClock(1, 1_000);
  breaker.recordFailure();
  clock.now = 400;
  t.equal(breaker.retryAfterMs(), 600);
  t.notOk(breaker.tryAcquire());
  clock.now = 1_000;
  t.equal(breaker.currentState, 'half-open');
  t.ok(breaker.tryAcquire(), 'the probe');
  t.notOk(breaker.tryAcquire(), 'no second request while the probe is out');
  breaker.recordSuccess();
  t.equal(breaker.currentState, 'closed');
  t.ok(breaker.tryAcquire());
  t.ok(breaker.tryAcquire());
});

t.test("a failed probe opens the breaker again for a whole period; an abandoned one frees the slot", async (t) => {
  const { breaker, clock } = breakerWithClock(1, 1_000);
  breaker.recordFailure();
  clock.now = 1_000;
  t.ok(breaker.tryAcquire());
  breaker.recordFailure();
  t.equal(breaker.currentState, 'open');
  clock.now = 1_999;
  t.notOk(breaker.tryAcquire());
  clock.now = 2_000;
  t.ok(breaker.tryAcquire());
  breaker.release();
  t.ok(breaker.tryAcquire(), 'the client left: another request may probe');
});

t.test('each failed probe doubles the wait up to the cap; a success starts again from the shortest', async (t) => {
  const clock = { now: 0 };
  const breaker = new CircuitBreaker({ failureThreshold: 1, resetMs: 250, maxResetMs: 1_000, now: () => clock.now });
  breaker.recordFailure();
  const waits: number[] = [];
  for (let probe = 0; probe < 5; probe += 1) {
    const openedAt = clock.now;
    waits.push(breaker.retryAfterMs());
    clock.now = openedAt + breaker.retryAfterMs() - 1;
    t.notOk(breaker.tryAcquire(), 'not a moment early');
    clock.now += 1;
    t.ok(breaker.tryAcquire(), 'the probe');
    breaker.recordFailure();
  }
  t.same(waits, [250, 500, 1_000, 1_000, 1_000]);
  clock.now += 1_000;
  t.ok(breaker.tryAcquire());
  breaker.recordSuccess();
  breaker.recordFailure();
  t.equal(breaker.retryAfterMs(), 250, 'the next outage starts with a short wait again');
});

t.test('the retry budget allows a burst, then a fraction of the traffic', async (t) => {
  const budget = new RetryBudget({ ratio: 0.25, burst: 2 });
  t.ok(budget.tryWithdraw());
  t.ok(budget.tryWithdraw());
  t.notOk(budget.tryWithdraw(), 'burst spent');
  for (let i = 0; i < 3; i += 1) budget.deposit();
  t.notOk(budget.tryWithdraw(), '3 requests earn less than one retry');
  budget.deposit();
  t.ok(budget.tryWithdraw(), 'the 4th earns it');
  for (let i = 0; i < 100; i += 1) budget.deposit();
  t.ok(budget.tryWithdraw());
  t.ok(budget.tryWithdraw());
  t.notOk(budget.tryWithdraw(), 'savings are capped at the burst');

  const none = new RetryBudget({ ratio: 0.5, burst: 0 });
  t.notOk(none.tryWithdraw());
  none.deposit();
  none.deposit();
  t.ok(none.tryWithdraw(), 'a zero burst still earns retries');
});

t.test('undici errors map to prompt problems that reveal nothing', async (t) => {
  t.equal(classifyUpstreamError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'unavailable');
  t.equal(classifyUpstreamError(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), 'unavailable');
  t.equal(classifyUpstreamError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' })), 'timeout');
  t.equal(classifyUpstreamError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' })), 'bad-response');
  t.equal(classifyUpstreamError(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'bad-response');
  t.equal(classifyUpstreamError(Object.assign(new Error('x'), { name: 'AbortError' })), 'aborted');

  const open = new UpstreamError('catalog', 'circuit-open', 2_500).toAppError();
  t.match(open, { code: 'GATEWAY_CIRCUIT_OPEN', statusCode: 503, options: { headers: { 'retry-after': '3' } } });
  t.match(new UpstreamError('catalog', 'timeout').toAppError(), { code: 'GATEWAY_UPSTREAM_TIMEOUT', statusCode: 504 });
  t.match(new UpstreamError('catalog', 'bad-response').toAppError(), { code: 'GATEWAY_BAD_UPSTREAM_RESPONSE', statusCode: 502 });
  const unavailable = new UpstreamError('catalog', 'unavailable', 0, { cause: new Error('connect ECONNREFUSED 10.0.0.7:3002') }).toAppError();
  t.match(unavailable, { code: 'GATEWAY_UPSTREAM_UNAVAILABLE', statusCode: 503 });
  t.notMatch(unavailable.detail ?? '', /10\.0\.0\.7|ECONNREFUSED/, 'no internal address or error in the detail');
});
