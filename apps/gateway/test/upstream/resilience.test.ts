import { createServer, type Server } from 'node:http';
import { eventually, type Teardown } from '@shop/testing';
import type { InjectOptions } from 'fastify';
import t from 'tap';
import { bearer, buildGateway, closedPortUrl, problemOf } from '../helper';

type Mode = 'ok' | 'slow' | 'reset' | 'reset-once' | 'unavailable';

/** A service that misbehaves on demand, and can be stopped and started again on the same port. */
async function startUnreliableUpstream(t: Teardown) {
  const state = { mode: 'ok' as Mode, hits: 0, resetsLeft: 0 };
  let server: Server;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((request, response) => {
        if (request.url?.startsWith('/health') || request.url?.startsWith('/docs')) return response.writeHead(404).end();
        state.hits += 1;
        const mode = state.mode === 'reset-once' && state.resetsLeft-- <= 0 ? 'ok' : state.mode;
        if (mode === 'reset' || mode === 'reset-once') return request.socket.destroy();
        if (mode === 'unavailable') {
          return response
            .writeHead(503, { 'content-type': 'application/problem+json' })
            .end('{"type":"urn:shop:problem:service-shutting-down","title":"The service is shutting down","status":503,"code":"SERVICE_SHUTTING_DOWN"}');
        }
        const answer = () => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        if (mode === 'slow') setTimeout(answer, 3_000).unref();
        else answer();
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  await listen();
  t.teardown(() => (server.listening ? stop() : undefined));
  return { state, url: `http://127.0.0.1:${port}`, stop, start: listen };
}

const FAST = { UPSTREAM_TIMEOUT_MS: '300', RETRY_BASE_DELAY_MS: '5', BREAKER_FAILURE_THRESHOLD: '100' };

t.test('an upstream that is down or slow gives a prompt problem', async (t) => {
  const upstream = await startUnreliableUpstream(t);
  const { app, issuer } = await buildGateway(t, { catalog: upstream.url, orders: await closedPortUrl(), env: FAST });
  const token = await issuer.tokenFor({});
  const timed = async (request: InjectOptions) => {
    const started = Date.now();
    const response = await app.inject(request);
    return { response, ms: Date.now() - started };
  };

  t.test('connection refused: 503, Retry-After', async (t) => {
    const { response, ms } = await timed({ method: 'GET', url: '/v1/orders', headers: bearer(token) });
    t.equal(response.statusCode, 503);
    t.match(problemOf(response), { code: 'GATEWAY_UPSTREAM_UNAVAILABLE', detail: /orders/ });
    t.equal(response.headers['retry-after'], '1');
    t.notMatch(response.body, /127\.0\.0\.1|ECONNREFUSED/, 'no internal detail');
    t.ok(ms < 2_000, `prompt (${ms} ms)`);
  });

  t.test('too slow: 504 once the route timeout has passed, not retried', async (t) => {
    upstream.state.mode = 'slow';
    upstream.state.hits = 0;
    const { response, ms } = await timed({ method: 'GET', url: '/v1/products' });
    t.equal(response.statusCode, 504);
    t.equal(problemOf(response).code, 'GATEWAY_UPSTREAM_TIMEOUT');
    t.ok(ms >= 300 && ms < 2_500, `after the 300 ms timeout, long before the answer (${ms} ms)`);
    t.equal(upstream.state.hits, 1, 'a timeout is not retried');
  });

  t.test('connections reset: 502; idempotent requests are retried once, others not', async (t) => {
    upstream.state.mode = 'reset';
    const cases: [string, InjectOptions, number][] = [
      ['GET', { method: 'GET', url: '/v1/products' }, 2],
      ['PUT', { method: 'PUT', url: '/v1/products/1', headers: bearer(token), payload: {} }, 2],
      ['POST', { method: 'POST', url: '/v1/products', headers: bearer(token), payload: {} }, 1],
    ];
    for (const [label, request, attempts] of cases) {
      upstream.state.hits = 0;
      const { response } = await timed(request);
      t.equal(response.statusCode, 502, label);
      t.equal(problemOf(response).code, 'GATEWAY_BAD_UPSTREAM_RESPONSE', label);
      t.equal(upstream.state.hits, attempts, `${label}: ${attempts} attempt(s)`);
    }
  });

  t.test('a retry that succeeds is invisible to the client', async (t) => {
    upstream.state.mode = 'reset-once';
    upstream.state.resetsLeft = 1;
    upstream.state.hits = 0;
    const response = await app.inject({ method: 'POST', url: '/v1/products', headers: { ...bearer(token), 'idempotency-key': 'create-tea' }, payload: {} });
    t.equal(response.statusCode, 200);
    t.equal(upstream.state.hits, 2, 'an Idempotency-Key makes a POST repeatable');
  });
});

t.test('retries are bounded by a budget', async (t) => {
  const upstream = await startUnreliableUpstream(t);
  const { app } = await buildGateway(t, { catalog: upstream.url, env: { ...FAST, RETRY_BUDGET_BURST: '2', RETRY_BUDGET_RATIO: '0' } });
  upstream.state.mode = 'reset';
  for (let i = 0; i < 5; i += 1) await app.inject({ method: 'GET', url: '/v1/products' });
  t.equal(upstream.state.hits, 5 + 2, 'five requests, and only the two retries the budget allowed');
});

t.test('the circuit breaker opens, fails fast, and recovers by itself', async (t) => {
  const upstream = await startUnreliableUpstream(t);
  // Open long enough for the requests that must find it open to be made on a slow machine (a
  // request after the reset would be the probe), and an upstream timeout far above the bound
  // that shows the breaker failing fast. Nothing here waits for that timeout: no upstream is slow.
  const resetMs = 2_000;
  const { app } = await buildGateway(t, {
    catalog: upstream.url,
    env: { ...FAST, UPSTREAM_TIMEOUT_MS: '5000', BREAKER_FAILURE_THRESHOLD: '3', BREAKER_RESET_MS: String(resetMs) },
  });
  const get = () => app.inject({ method: 'GET', url: '/v1/products' });

  t.test('failures open it; then the service is not even asked', async (t) => {
    upstream.state.mode = 'reset';
    const first = await get();
    t.equal(first.statusCode, 502);
    t.equal(upstream.state.hits, 2, 'two failed attempts (one retry)');
    await get();
    const hitsWhenOpened = upstream.state.hits;
    const started = Date.now();
    const open = await get();
    t.equal(open.statusCode, 503);
    t.equal(problemOf(open).code, 'GATEWAY_CIRCUIT_OPEN');
    // The time left until the probe in whole seconds, rounded up: 2, or 1 once a second of it has gone.
    t.ok(['1', '2'].includes(String(open.headers['retry-after'])), `Retry-After: the wait until the probe (${String(open.headers['retry-after'])})`);
    const ms = Date.now() - started;
    t.ok(ms < 1_000, `fails fast, not after the 5 s upstream timeout (${ms} ms)`);
    await get();
    t.equal(upstream.state.hits, hitsWhenOpened, 'no traffic, retries included, while open');
  });

  t.test('the service stops completely and comes back: traffic recovers without help', async (t) => {
    await upstream.stop();
    // Just past the reset: the next request is the probe.
    await new Promise((resolve) => setTimeout(resolve, resetMs + 50));
    const probe = await get();
    t.equal(probe.statusCode, 503, 'the probe finds it still down');
    t.equal(problemOf(probe).code, 'GATEWAY_UPSTREAM_UNAVAILABLE', 'what the probe found, not a breaker verdict');
    t.equal(problemOf(await get()).code, 'GATEWAY_CIRCUIT_OPEN', 'open again');

    upstream.state.mode = 'ok';
    await upstream.start();
    const recovered = await eventually(async () => {
      const response = await get();
      return response.statusCode === 200 ? response : undefined;
    });
    t.same(recovered.json(), { ok: true });
    const after = await Promise.all([get(), get(), get()]);
    t.same(after.map((response) => response.statusCode), [200, 200, 200], 'closed again');
  });

  t.test("an upstream's own 503s pass through unchanged, and count against it", async (t) => {
    upstream.state.mode = 'unavailable';
    const passed = await get();
    t.equal(passed.statusCode, 503);
    t.equal(problemOf(passed).code, 'SERVICE_SHUTTING_DOWN', "the service's problem, as it sent it");
    await get();
    await get();
    t.equal(problemOf(await get()).code, 'GATEWAY_CIRCUIT_OPEN');
  });
});

t.test('with the default breaker, a service that is back gets traffic again within a second, however long it was away', async (t) => {
  const upstream = await startUnreliableUpstream(t);
  // Only the threshold is lowered (to open it quickly); the reset and its backoff are the defaults.
  const { app, config } = await buildGateway(t, { catalog: upstream.url, env: { UPSTREAM_TIMEOUT_MS: '300', BREAKER_FAILURE_THRESHOLD: '2' } });
  const get = () => app.inject({ method: 'GET', url: '/v1/products' });
  t.equal(config.BREAKER_RESET_MS, 250);
  t.equal(config.BREAKER_MAX_RESET_MS, 1_000);

  await upstream.stop();
  // Clients keep asking throughout a 3-second outage: the probes back off to the cap.
  const outageEnds = Date.now() + 3_000;
  let opened = 0;
  while (Date.now() < outageEnds) {
    if (problemOf(await get()).code === 'GATEWAY_CIRCUIT_OPEN') opened += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.ok(opened > 0, 'the breaker was open during the outage');
  upstream.state.hits = 0;

  await upstream.start();
  const backAt = Date.now();
  let response = await get();
  while (response.statusCode !== 200 && Date.now() - backAt < 10_000) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    response = await get();
  }
  const recoveryMs = Date.now() - backAt;
  t.equal(response.statusCode, 200);
  // The 1 s cap plus slack for a loaded machine: still well short of the 5 s it used to take.
  t.ok(recoveryMs <= 3_000, `traffic flows ${recoveryMs} ms after the service is back (was up to 5 s)`);
  t.comment(`recovered ${recoveryMs} ms after the upstream came back`);
  t.equal(upstream.state.hits, 1, 'the first request it saw was the probe that closed the breaker');
});
