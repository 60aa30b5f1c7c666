import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { scrapeTimeGauge } from './metrics';
import { sendProblem } from './problem';

export type ReadinessCheck = () => Promise<unknown>;

export interface ReadinessCheckOptions {
  /**
   * `true` (the default): the service cannot serve without this dependency, so `/health/ready`
   * is 503 while it fails and the orchestrator takes the instance out of rotation. `false`: the
   * service degrades but still serves (a cache, a fallback, work that waits in an outbox); the
   * dependency is only reported, in `/health/ready`'s body and as `service_dependency_up`.
   */
  required?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Names a dependency, checked by `/health/ready` and reported as `service_dependency_up{dependency}`. */
    addReadinessCheck(name: string, check: ReadinessCheck, options?: ReadinessCheckOptions): void;
  }
}

const CHECK_TIMEOUT_MS = 2_000;

async function probe(check: ReadinessCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

interface Dependency {
  check: ReadinessCheck;
  required: boolean;
}

/**
 * `/health`: the process is alive (and not shutting down). `/health/ready`: every *required*
 * dependency answers; the others are listed as `degraded` without failing it, so a blip of a
 * dependency the service can do without never takes every instance out of rotation at once.
 */
export function installHealthRoutes(app: FastifyInstance, registry: Registry): void {
  const dependencies = new Map<string, Dependency>();
  app.decorate('addReadinessCheck', (name: string, check: ReadinessCheck, options: ReadinessCheckOptions = {}) => {
    dependencies.set(name, { check, required: options.required ?? true });
  });
  const probeAll = () => Promise.all([...dependencies].map(async ([name, { check, required }]) => ({ name, required, ok: await probe(check) })));

  scrapeTimeGauge(
    registry,
    {
      name: 'service_dependency_up',
      help: '1 when the dependency answers, 0 when not; required ones also fail /health/ready.',
      labelNames: ['dependency', 'required'] as const,
    },
    async (gauge) => {
      for (const { name, required, ok } of await probeAll()) gauge.set({ dependency: name, required: String(required) }, ok ? 1 : 0);
    },
  );

  app.get('/health', { schema: { hide: true }, logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/health/ready', { schema: { hide: true }, logLevel: 'warn' }, async (request, reply) => {
    const results = await probeAll();
    const notReady = results.filter(({ required, ok }) => required && !ok).map(({ name }) => name);
    if (notReady.length > 0) {
      return sendProblem(request, reply, 'SERVICE_UNAVAILABLE', `Not ready: ${notReady.join(', ')}`);
    }
    return { status: 'ready', checks: Object.fromEntries(results.map(({ name, ok }) => [name, ok ? 'ok' : 'degraded'])) };
  });
}
