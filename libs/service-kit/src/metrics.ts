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
  /**
   * Requests received and not answered yet, each with its route template. Counted at scrape time
   * from this map rather than with an increment and a decrement: a request whose client went away
   * never reaches onResponse, and an onRequestAbort hook (a 'close' listener per request) costs
   * more than all the rest of this file's per-request work. So such a request is dropped from the
   * map once its socket is gone, at the next scrape, or sooner when the map grows large without
   * being scraped. The route sits here rather than on the request: a property added to a request
   * after construction gives every request object a second shape.
   */
  const active = new Map<FastifyRequest, string>();
  const seen = new Set<string>();
  const dropAborted = () => {
    for (const request of active.keys()) if (request.raw.socket?.destroyed) active.delete(request);
  };
  new Gauge({
    name: 'http_requests_in_flight',
    help: 'Requests received and not yet answered, by route template.',
    labelNames: ['method', 'route'] as const,
    registers: [registry],
    collect() {
      dropAborted();
      this.reset();
      const counts = new Map<string, number>([...seen].map((key) => [key, 0]));
      for (const [request, route] of active) {
        const key = `${request.method} ${route}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, count] of counts) {
        const space = key.indexOf(' ');
        this.set({ method: key.slice(0, space), route: key.slice(space + 1) }, count);
      }
    },
  });

  /**
   * The hooks of one route template. They are the route's own (added in onRoute), so the template
   * is known without asking Fastify per request (`request.routeOptions` builds an object each
   * time), and histogram children are made once per method and status class.
   */
  const hooksFor = (route: string) => {
    const durationByKey = new Map<string, { observe(value: number): void }>();
    const methods = new Set<string>();
    return {
      // Callback-style: they run on every request, and a promise each would cost throughput.
      onRequest: (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
        // Once seen, a route's gauge reads 0 when idle rather than disappearing.
        if (!methods.has(request.method)) {
          methods.add(request.method);
          seen.add(`${request.method} ${route}`);
        }
        active.set(request, route);
        if (active.size > MAX_TRACKED_REQUESTS) dropAborted();
        done();
      },
      onResponse: (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
        active.delete(request);
        const statusClass = STATUS_CLASSES[Math.floor(reply.statusCode / 100)] ?? 'other';
        const key = request.method + statusClass;
        let child = durationByKey.get(key);
        if (child === undefined) {
          child = duration.labels(request.method, route, statusClass);
          durationByKey.set(key, child);
        }
        child.observe(reply.elapsedTime / 1000);
        done();
      },
    };
  };

  app.addHook('onRoute', (routeOptions) => {
    const hooks = hooksFor(routeOptions.url ?? UNMATCHED_ROUTE);
    // Before the route's own onRequest hooks (an edge check that answers early is still timed), after its onResponse ones.
    routeOptions.onRequest = [hooks.onRequest, ...asList(routeOptions.onRequest)] as typeof routeOptions.onRequest;
    routeOptions.onResponse = [...asList(routeOptions.onResponse), hooks.onResponse] as typeof routeOptions.onResponse;
  });

  // No route matched: route hooks never run, so global ones take these, and only these.
  const unmatched = hooksFor(UNMATCHED_ROUTE);
  app.addHook('onRequest', (request, reply, done) => (request.is404 ? unmatched.onRequest(request, reply, done) : done()));
  app.addHook('onResponse', (request, reply, done) => (request.is404 ? unmatched.onResponse(request, reply, done) : done()));
}

/** Past this many requests in flight (aborted ones included) the set is swept without waiting for a scrape. */
const MAX_TRACKED_REQUESTS = 10_000;
const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

function asList<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
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
