import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** The service's Prometheus registry: apps and libs register their own series on it. */
    metrics: ServiceMetrics;
  }
}

export interface ServiceMetrics {
  readonly service: string;
  readonly registry: Registry;
}

/**
 * The management endpoint's variables. Each service gives its own default port (gateway 9100,
 * auth 9101, catalog 9102, orders 9103, recommendations 9104), so a whole stack on one host
 * does not collide.
 */
export function metricsConfigSchema(defaultPort: number) {
  return Type.Object({
    /** `false` turns the per-route series and the management port off (benchmarks compare both). */
    METRICS_ENABLED: Type.Boolean({ default: true }),
    METRICS_HOST: Type.String({ default: '0.0.0.0' }),
    METRICS_PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: defaultPort }),
  });
}
export type MetricsConfig = Static<ReturnType<typeof metricsConfigSchema>>;

/** Seconds; the budget of most routes is 100 ms, of `POST /v1/orders` with `Prefer: wait` seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Requests that matched no route share one label, so a scan of random URLs cannot grow the series. */
export const UNMATCHED_ROUTE = 'unmatched';
const kInFlight = Symbol('metrics.inFlight');

type CountedRequest = FastifyRequest & { [kInFlight]?: { dec(): void } };

/**
 * A registry per service instance (tests build many in one process; nothing global), every
 * series labelled `service`, with Node's process series (CPU, heap, GC, event-loop lag) and,
 * unless `perRoute` is false, `http_request_duration_seconds{method, route, status_class}` and
 * `http_requests_in_flight{method, route}` by route template, never the raw URL.
 */
export function installMetrics(app: FastifyInstance, options: { service: string; perRoute: boolean }): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });
  const metrics: ServiceMetrics = { service: options.service, registry };
  app.decorate('metrics', metrics);
  if (options.perRoute) installRouteMetrics(app, registry);
  return metrics;
}

function installRouteMetrics(app: FastifyInstance, registry: Registry): void {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from the request arriving to the response being written, by route template.',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'http_requests_in_flight',
    help: 'Requests received and not yet answered, by route template.',
    labelNames: ['method', 'route'] as const,
    registers: [registry],
  });
  // Children are cached per (method, route): the hot path then skips prom-client's label checks.
  const inFlightChildren = new Map<string, { inc(): void; dec(): void }>();
  const durationChildren = new Map<string, { observe(value: number): void }>();
  const routeOf = (request: FastifyRequest) => (request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE));

  // Callback-style hooks: they run on every request, and a promise each would cost throughput.
  app.addHook('onRequest', (request: CountedRequest, _reply, done) => {
    const route = routeOf(request);
    const key = `${request.method} ${route}`;
    let child = inFlightChildren.get(key);
    if (child === undefined) {
      child = inFlight.labels(request.method, route);
      inFlightChildren.set(key, child);
    }
    child.inc();
    request[kInFlight] = child;
    done();
  });
  const settle = (request: CountedRequest) => {
    request[kInFlight]?.dec();
    request[kInFlight] = undefined;
  };
  app.addHook('onResponse', (request: CountedRequest, reply: FastifyReply, done) => {
    settle(request);
    const route = routeOf(request);
    const statusClass = `${Math.floor(reply.statusCode / 100)}xx`;
    const key = `${request.method} ${route} ${statusClass}`;
    let child = durationChildren.get(key);
    if (child === undefined) {
      child = duration.labels(request.method, route, statusClass);
      durationChildren.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });
  // A client that goes away before its answer never reaches onResponse: it must leave the gauge anyway.
  app.addHook('onRequestAbort', (request: CountedRequest, done) => {
    settle(request);
    done();
  });
}

export interface MetricsServer {
  /** `http://host:port/metrics` as actually bound (port 0 picks a free one). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` on a port of its own (the management port), never on the service's public one:
 * the gateway cannot route to it by mistake, and a network policy can admit only Prometheus.
 * Anything else on this port is a plain 404.
 */
export async function serveMetrics(app: FastifyInstance, options: { host: string; port: number }): Promise<MetricsServer> {
  const { registry } = app.metrics;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) => {
        app.log.error({ err: error }, 'metrics collection failed');
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A source slower than this is left out of the scrape rather than holding it (Prometheus' default timeout is 10 s). */
const SCRAPE_SOURCE_TIMEOUT_MS = 2_000;

/**
 * Runs `collect` at scrape time, for series that cost a query (a count in the database, an
 * XINFO in Redis) and so are never computed per event. A failing source leaves its series out of
 * that scrape instead of failing the whole scrape; `up`-style series say what is unreachable.
 */
export function scrapeTimeGauge<L extends string>(
  registry: Registry,
  definition: { name: string; help: string; labelNames: readonly L[] },
  collect: (gauge: Gauge<L>) => Promise<void>,
): Gauge<L> {
  return new Gauge<L>({
    name: definition.name,
    help: definition.help,
    labelNames: definition.labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SCRAPE_SOURCE_TIMEOUT_MS);
      });
      await Promise.race([collect(this).catch(() => undefined), timeout]);
      clearTimeout(timer);
    },
  });
}
