import t from 'tap';
import { buildKitApp, problemOf } from './helper';

t.test('/health answers 200 while the process is alive', async (t) => {
  const { app } = await buildKitApp(t);
  const response = await app.inject({ method: 'GET', url: '/health' });
  t.equal(response.statusCode, 200);
  t.same(response.json(), { status: 'ok' });
});

t.test('/health/ready is 200 with every check when all pass', async (t) => {
  const { app } = await buildKitApp(t);
  const none = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(none.statusCode, 200);
  t.same(none.json(), { status: 'ready', checks: {} });

  app.addReadinessCheck('database', async () => 'SELECT 1');
  app.addReadinessCheck('redis', async () => 'PONG');
  const response = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(response.statusCode, 200);
  t.same(response.json(), { status: 'ready', checks: { database: 'ok', redis: 'ok' } });
});

t.test('/health/ready is a 503 problem naming each failing check; a hanging one times out', async (t) => {
  const { app } = await buildKitApp(t);
  app.addReadinessCheck('database', async () => 'SELECT 1');
  app.addReadinessCheck('redis', () => Promise.reject(new Error('ECONNREFUSED')));
  app.addReadinessCheck('upstream', () => new Promise(() => undefined));
  app.addReadinessCheck('thrower', () => {
    throw new Error('synchronous failure');
  });

  const started = Date.now();
  const response = await app.inject({ method: 'GET', url: '/health/ready' });
  const elapsed = Date.now() - started;
  t.equal(response.statusCode, 503);
  t.equal(response.headers['content-type'], 'application/problem+json');
  const problem = problemOf(response);
  t.match(problem, { code: 'SERVICE_UNAVAILABLE', status: 503, instance: '/health/ready' });
  for (const name of ['redis', 'upstream', 'thrower']) t.match(problem.detail, new RegExp(`\\b${name}\\b`), `names ${name}`);
  t.notMatch(problem.detail, /database/, 'only the failing checks');
  t.notMatch(response.body, /ECONNREFUSED|synchronous failure/, 'no internal detail');
  t.ok(elapsed < 10_000, `the hanging check timed out instead of hanging the request (${elapsed} ms)`);
});
