import { spawn, type ChildProcessByStdio } from 'node:child_process';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { startKeepAliveLoad, type LoadReport } from '@shop/testing';
import t, { type Test } from 'tap';

const FIXTURE = fileURLToPath(new URL('./fixtures/graceful-target.ts', import.meta.url));

interface Outcome {
  report: LoadReport;
  exitCode: number | null;
  exitedAfterMs: number;
  readinessDuringDrain: { status: number; headers: http.IncomingHttpHeaders; body: string };
  slowStatus: number | string;
}

/**
 * A real process, a real SIGTERM, real sockets: many keep-alive connections send requests back to
 * back (or pipelined) while the service is told to stop, and every answer, clean close and reset
 * is counted. Node's server.close() destroys the connections it thinks idle, including those whose
 * next request has arrived but is not yet read: that is where resets come from.
 */
async function shutDownUnderLoad(t: Test, options: { connections: number; pipelining: number; workMs: number; graceMs: number }): Promise<Outcome> {
  const child = spawn(process.execPath, ['--import=tsx', FIXTURE], {
    env: { ...process.env, SHUTDOWN_GRACE_MS: String(options.graceMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const printed = watchOutput(child);
  const port = Number((await printed(/listening (\d+)\n/, 'listening'))[1]);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const load = startKeepAliveLoad({
    port,
    connections: options.connections,
    pipelining: options.pipelining,
    reconnect: true,
    request: () => ({ method: 'GET', path: `/work?ms=${options.workMs}` }),
  });
  const balancer = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => balancer.destroy());
  t.equal((await get(port, '/health/ready', balancer)).status, 200, 'ready before the signal');
  await new Promise((resolve) => setTimeout(resolve, 700));
  // One slower request keeps the drain open long enough to ask for readiness meanwhile. The signal
  // waits until the fixture says it has begun: under load it could still be unread after any fixed wait.
  const slow = fetch(`http://127.0.0.1:${port}/work?ms=1500`).then((response) => response.status, (error: Error) => error.message);
  await printed(/work started 1500\n/, 'the slow request began');
  load.mark();
  const signalledAt = Date.now();
  child.kill('SIGTERM');
  // The load balancer's view, on the connection it holds: readiness must turn 503 while the service
  // drains. Asked until it does, since under load the signal can reach the service's event loop
  // well after it was sent (a fixed 50 ms wait failed once); the slow request keeps the drain open.
  let readinessDuringDrain = await get(port, '/health/ready', balancer);
  const readinessDeadline = Date.now() + 5_000;
  while (readinessDuringDrain.status === 200 && child.exitCode === null && Date.now() < readinessDeadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    readinessDuringDrain = await get(port, '/health/ready', balancer);
  }
  const slowStatus = await slow;
  const exitCode = await exited;
  const exitedAfterMs = Date.now() - signalledAt;
  const report = await load.stop();
  t.comment(`SIGTERM under load: ${JSON.stringify({ ...report, errors: report.errors.slice(0, 3) })}, exited after ${exitedAfterMs} ms (code ${exitCode})`);
  return { report, exitCode, exitedAfterMs, readinessDuringDrain, slowStatus };
}

function assertNothingDropped(t: Test, outcome: Outcome, graceMs: number) {
  const { report } = outcome;
  t.ok(report.statuses[200]! > 100, 'the load was real');
  t.equal(report.resets, 0, 'no connection was reset');
  t.equal(report.droppedWithoutClose, 0, 'no connection closed with a request outstanding without saying Connection: close first');
  t.same(report.errors, [], 'no other socket error');
  t.equal(outcome.exitCode, 0, 'the process exits cleanly');
  t.equal(outcome.slowStatus, 200, 'a slower request in flight at the signal completes');
  // A request after the signal on a connection opened before it: refused, and the connection closed.
  t.equal(outcome.readinessDuringDrain.status, 503, 'readiness says 503 while the service drains');
  t.equal(outcome.readinessDuringDrain.headers.connection, 'close');
  t.match(outcome.readinessDuringDrain.headers['content-type'], /^application\/problem\+json/);
  t.match(JSON.parse(outcome.readinessDuringDrain.body), { code: 'SERVICE_SHUTTING_DOWN', status: 503 });
  t.ok(outcome.exitedAfterMs < graceMs, `it exits once the work in flight is done, not at the end of the grace period (${outcome.exitedAfterMs} ms)`);
}

t.test('SIGTERM under back-to-back keep-alive load: every request sent before it is answered, none reset', async (t) => {
  const graceMs = 5_000;
  const outcome = await shutDownUnderLoad(t, { connections: 48, pipelining: 1, workMs: 20, graceMs });
  assertNothingDropped(t, outcome, graceMs);
  t.equal(outcome.report.answeredBeforeMark, outcome.report.sentBeforeMark, 'every request sent before the signal got an answer');
  t.equal(outcome.report.unansweredAfterClose, 0);
});

t.test('SIGTERM under pipelined keep-alive load: answers or a clean Connection: close, never a reset', async (t) => {
  const graceMs = 5_000;
  const outcome = await shutDownUnderLoad(t, { connections: 16, pipelining: 4, workMs: 5, graceMs });
  assertNothingDropped(t, outcome, graceMs);
  // Requests pipelined behind the one that said Connection: close were never processed; RFC 9112 §9.3.2 lets the client send them again.
  t.equal(outcome.report.answeredBeforeMark + outcome.report.unansweredAfterClose >= outcome.report.sentBeforeMark, true, 'every request sent before the signal was answered or left behind an explicit close');
});

t.test('the grace period bounds the drain: a request slower than it is cut off and the process exits', async (t) => {
  const graceMs = 600;
  const child = spawn(process.execPath, ['--import=tsx', FIXTURE], { env: { ...process.env, SHUTDOWN_GRACE_MS: String(graceMs) }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const printed = watchOutput(child);
  const port = Number((await printed(/listening (\d+)\n/, 'listening'))[1]);
  const slow = fetch(`http://127.0.0.1:${port}/work?ms=30000`).then((response) => response.status, (error: Error) => error.message);
  // Signalled only once that request is in flight: one not yet begun would let the process exit at once.
  await printed(/work started 30000\n/, 'the slow request began');
  const signalledAt = Date.now();
  child.kill('SIGTERM');
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const took = Date.now() - signalledAt;
  t.ok(took >= graceMs && took < graceMs + 3_000, `exits after the grace period, not before and not much after (${took} ms)`);
  t.not(exitCode, null);
  t.not(await slow, 200, 'the request slower than the grace period got no success');
});

/**
 * Collects what the fixture prints; the function returned waits for the first match of `pattern`
 * in all of it (printed before the call or after), failing if the fixture exits first.
 */
function watchOutput(child: ChildProcessByStdio<null, Readable, null>): (pattern: RegExp, what: string) => Promise<RegExpExecArray> {
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return (pattern, what) =>
    new Promise((resolve, reject) => {
      const exitedEarly = () => reject(new Error(`the fixture exited before ${what}:\n${output}`));
      const check = () => {
        const match = pattern.exec(output);
        if (!match) return;
        child.stdout.off('data', check);
        child.off('exit', exitedEarly);
        resolve(match);
      };
      child.stdout.on('data', check);
      child.once('exit', exitedEarly);
      check();
    });
}

function get(port: number, path: string, agent: http.Agent): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      })
      .on('error', reject);
  });
}
