import { Writable } from 'node:stream';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { inSpan, startTracing } from '@shop/telemetry';
import t from 'tap';

// Tracing starts before the services' modules (pg, ioredis, undici, Fastify) are imported, as in
// every service's main.ts; spans are kept in memory instead of going to a collector.
const exporter = new InMemorySpanExporter();
const tracing = await startTracing({ serviceName: 'saga-e2e', spanProcessors: [new SimpleSpanProcessor(exporter)] });
t.teardown(() => tracing?.shutdown());
const { Saga, waitFor, buildGatewayFor } = await import('./helper');
const { WebSocket } = await import('ws');

/** A span's time as one number of nanoseconds. */
function nanos([seconds, nanoseconds]: [number, number]): number {
  return seconds * 1e9 + nanoseconds;
}

function spanId(span: ReadableSpan): string {
  return span.spanContext().spanId;
}

t.test('one trace follows an order: gateway, orders, relay, catalog, relay, orders, the WebSocket push and the Prefer: wait answer', async (t) => {
  const saga = await Saga.build(t);
  const product = await saga.createProduct(10, 1_250);
  const ordersUrl = await saga.orders.listen({ host: '127.0.0.1', port: 0 });
  const logs: Record<string, unknown>[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const gateway = await buildGatewayFor(t, saga, { ordersUrl, logStream });
  const gatewayUrl = await gateway.listen({ host: '127.0.0.1', port: 0 });

  const socket = new WebSocket(`${gatewayUrl.replace('http', 'ws')}/v1/orders/events`, { headers: saga.customer });
  t.teardown(() => socket.close());
  const pushes: { order: { id: string; status: string } }[] = [];
  socket.on('message', (data) => pushes.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  exporter.reset();

  const answer = await inSpan('customer places an order', {}, async () => {
    const response = await fetch(`${gatewayUrl}/v1/orders`, {
      method: 'POST',
      headers: { ...saga.customer, 'content-type': 'application/json', prefer: 'wait=10' },
      body: JSON.stringify({ items: [{ productId: product.id, quantity: 2 }] }),
    });
    return { status: response.status, body: (await response.json()) as { id: string; status: string } };
  });
  t.match(answer, { status: 201, body: { status: 'confirmed' } }, 'the Prefer: wait answer is the settled order');
  await waitFor('the confirmation pushed', async () => pushes.some((push) => push.order.id === answer.body.id && push.order.status === 'confirmed'));

  const root = exporter.getFinishedSpans().find((span) => span.name === 'customer places an order')!;
  const traceId = root.spanContext().traceId;
  let spans: ReadableSpan[] = [];
  // The push span ends after its message was sent: wait until it is exported too.
  await waitFor('the push span', async () => {
    spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
    return spans.filter((span) => span.name === 'push order.updated').length >= 2;
  });
  const byId = new Map(spans.map((span) => [spanId(span), span]));
  const parentOf = (span: ReadableSpan) => byId.get(span.parentSpanContext?.spanId ?? '');
  /** The span's ancestors' names, nearest first. */
  const ancestry = (span: ReadableSpan): string[] => {
    const names: string[] = [];
    for (let parent = parentOf(span); parent; parent = parentOf(parent)) names.push(parent.name);
    return names;
  };
  if (process.env.PRINT_TRACE) {
    const print = (span: ReadableSpan, depth: number): void => {
      process.stderr.write(`${'  '.repeat(depth)}${span.name} [${SpanKind[span.kind]}] +${((nanos(span.startTime) - nanos(root.startTime)) / 1e6).toFixed(1)} ms, ${((nanos(span.endTime) - nanos(span.startTime)) / 1e6).toFixed(1)} ms\n`);
      for (const child of spans.filter((candidate) => parentOf(candidate) === span)) print(child, depth + 1);
    };
    print(root, 0);
  }
  const one = (name: string, kind?: SpanKind) => {
    const found = spans.filter((span) => span.name === name && (kind === undefined || span.kind === kind));
    t.equal(found.length, 1, `one ${name} span in the trace`);
    return found[0]!;
  };

  t.ok(spans.every((span) => span === root || parentOf(span)), 'every span of the trace hangs from the customer\'s, none is orphaned');
  const [gatewayRequest, ordersRequest] = spans.filter((span) => span.name === 'POST /v1/orders' && span.kind === SpanKind.SERVER).sort((a, b) => ancestry(a).length - ancestry(b).length);
  t.ok(gatewayRequest && ordersRequest, 'the gateway and orders each served POST /v1/orders');
  t.ok(ancestry(ordersRequest!).includes('POST /v1/orders'), "orders' request is under the gateway's (through undici's client span)");
  t.ok(spans.some((span) => span.kind === SpanKind.CLIENT && parentOf(span) && ancestry(ordersRequest!).includes(span.name)), 'with the HTTP client span between them');
  t.ok(spans.some((span) => span.name.startsWith('pg.query:INSERT') && ancestry(span).includes('POST /v1/orders') && ancestry(span).length === ancestry(ordersRequest!).length + 2), "orders' inserts (order, outbox) under its request");

  const publishPlaced = one('publish order.placed.v1', SpanKind.PRODUCER);
  const processPlaced = one('process order.placed.v1', SpanKind.CONSUMER);
  const publishReserved = one('publish stock.reserved.v1', SpanKind.PRODUCER);
  const processReserved = one('process stock.reserved.v1', SpanKind.CONSUMER);
  const wait = one('wait for order to settle');
  t.ok(ancestry(publishPlaced).slice(0, 2).includes('POST /v1/orders'), 'the relay publishes order.placed under the request that stored it');
  t.equal(parentOf(processPlaced), publishPlaced, 'the catalog processes what the relay published');
  t.match(processPlaced.attributes, { 'messaging.consumer.group.name': 'catalog', 'messaging.destination.name': 'events:orders' });
  t.ok(spans.some((span) => span.name.startsWith('pg.query:') && parentOf(span) === processPlaced), "the reservation's queries under it");
  t.equal(parentOf(publishReserved), processPlaced, 'its answer is published from within the reservation');
  t.equal(parentOf(processReserved), publishReserved, 'and processed by orders');
  t.match(processReserved.attributes, { 'messaging.consumer.group.name': 'orders', 'messaging.destination.name': 'events:catalog' });
  const confirmationPush = spans.filter((span) => span.name === 'push order.updated').find((span) => parentOf(span) === processReserved);
  t.ok(confirmationPush, 'the confirmation is pushed to the WebSocket under the confirming transaction');
  t.equal(confirmationPush!.kind, SpanKind.PRODUCER);
  t.ok(ancestry(wait)[0] === 'POST /v1/orders' || ancestry(wait)[1] === 'POST /v1/orders', "Prefer: wait waits inside orders' request");
  // The wait is woken by the confirmation's NOTIFY, which PostgreSQL delivers on commit, possibly
  // before the committing connection has its own answer: so the wait ends after the COMMIT was
  // sent, not necessarily after the consumer's span has ended.
  const confirmationCommit = spans.find((span) => span.name.startsWith('pg.query:COMMIT') && parentOf(span) === processReserved);
  t.ok(confirmationCommit, "the confirming transaction's COMMIT under orders' processing of the reservation");
  t.ok(nanos(wait.endTime) >= nanos(confirmationCommit!.startTime), 'and the wait ends after that COMMIT was sent');
  t.ok(nanos(ordersRequest!.endTime) >= nanos(wait.endTime), 'the answer is sent after the wait');

  const accessLine = logs.find((line) => line.msg === 'request completed' && line.route === '/v1/orders' && line.method === 'POST');
  t.ok(accessLine, "the gateway's access line");
  t.match(accessLine, { trace_id: traceId, span_id: /^[0-9a-f]{16}$/, traceId, requestId: String }, 'carries trace_id and span_id beside the request id');
});
