import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { tracingRequested } from '../src/index';

t.test('tracing is on only when an OTLP endpoint is set, and never against OTEL_SDK_DISABLED or a "none" exporter', async (t) => {
  t.equal(tracingRequested({}), false, 'nothing set');
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true);
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), true);
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }), false, 'a blank endpoint is none');
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }), false);
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }), false);
  t.equal(tracingRequested({ OTEL_SERVICE_NAME: 'orders' }), false, 'a service name alone turns nothing on');
});

const run = promisify(execFile);
async function startInChild(env: Record<string, string>): Promise<{ started: boolean; tracing: boolean; loaded: number }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_')));
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/fixtures/start-without-endpoint.ts'], { env: { ...clean, ...env } });
  return JSON.parse(stdout);
}

t.test('without an endpoint the SDK is never loaded; with one it is', async (t) => {
  t.same(await startInChild({}), { started: false, tracing: false, loaded: 0 }, 'off: no SDK, no instrumentation module in the process');
  const on = await startInChild({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_BSP_SCHEDULE_DELAY: '60000' });
  t.equal(on.started, true, 'on');
  t.equal(on.tracing, true);
  t.ok(on.loaded > 0, 'the SDK and its instrumentations are loaded');
});
