import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import t from 'tap';
import { inSpan, startTracing, traceLogFields } from '../src/index';

// Started before pg and ioredis are imported, as every service's main does.
const exporter = new InMemorySpanExporter();
const tracing = await startTracing({ serviceName: 'telemetry-test', spanProcessors: [new SimpleSpanProcessor(exporter)] });
const { Redis } = await import('ioredis');
const pg = await import('pg');

t.teardown(() => tracing?.shutdown());

t.test('pg and ioredis imported as ES modules after the start are traced inside a span', async (t) => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
  const client = new pg.default.Client({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  t.teardown(async () => {
    redis.disconnect();
    await client.end();
  });
  let logFields = {};
  await inSpan('work', {}, async () => {
    logFields = traceLogFields();
    await redis.ping();
    await client.query('SELECT 1');
  });
  const spans = exporter.getFinishedSpans();
  const work = spans.find((span) => span.name === 'work')!;
  t.ok(work, 'the span of the work');
  const children = spans.filter((span) => span.parentSpanContext?.spanId === work.spanContext().spanId).map((span) => span.name);
  t.ok(children.some((name) => name === 'ping'), `a redis span under it (${children.join(', ')})`);
  t.ok(children.some((name) => name.startsWith('pg.query')), 'and a pg one');
  t.same(logFields, { trace_id: work.spanContext().traceId, span_id: work.spanContext().spanId }, 'log lines inside carry the trace and span ids');
});
