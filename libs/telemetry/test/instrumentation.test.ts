import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import t from 'tap';
import { SpanStatusCode } from '@opentelemetry/api';
import { currentTraceCarrier, inSpan, recordFailure, startSendSpan, startTracing, traceLogFields } from '../src/index';

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

t.test('a message carries its span: a send span under the stored context, and the receiver continues it', async (t) => {
  exporter.reset();
  const stored = await inSpan('change', {}, async () => currentTraceCarrier());
  t.match(stored, { traceparent: /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/ }, 'the change stores its context');
  const send = startSendSpan('publish thing', stored, { 'messaging.system': 'redis' });
  send.end();
  await inSpan('process thing', { parent: send.carrier }, async () => undefined);
  await inSpan('process untraced', { parent: null }, async () => undefined);
  const spans = new Map(exporter.getFinishedSpans().map((span) => [span.name, span]));
  const [change, publish, processed, untraced] = ['change', 'publish thing', 'process thing', 'process untraced'].map((name) => spans.get(name)!);
  t.equal(publish!.parentSpanContext?.spanId, change!.spanContext().spanId, 'published under the change');
  t.equal(processed!.parentSpanContext?.spanId, publish!.spanContext().spanId, 'processed under the publication');
  t.equal(processed!.spanContext().traceId, change!.spanContext().traceId, 'one trace');
  t.not(untraced!.spanContext().traceId, change!.spanContext().traceId, 'a message without a context starts its own');
  t.equal(untraced!.parentSpanContext, undefined);
  t.equal(startSendSpan('publish untraced', null, {}).carrier, null, 'nothing to send for an untraced message');
});

t.test('failures are recorded on the span, thrown or handled', async (t) => {
  exporter.reset();
  await t.rejects(inSpan('thrown', {}, async () => {
    throw new Error('boom');
  }));
  await inSpan('handled', {}, async () => recordFailure(new Error('handled boom')));
  const spans = new Map(exporter.getFinishedSpans().map((span) => [span.name, span]));
  t.match(spans.get('thrown')!.status, { code: SpanStatusCode.ERROR, message: 'boom' });
  t.match(spans.get('handled')!.status, { code: SpanStatusCode.ERROR, message: 'handled boom' });
  t.equal(spans.get('thrown')!.events[0]?.name, 'exception');
});
