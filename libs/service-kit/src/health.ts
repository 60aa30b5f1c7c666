import type { FastifyInstance } from 'fastify';
import { sendProblem } from './problem';

export type ReadinessCheck = () => Promise<unknown>;

declare module 'fastify' {
  interface FastifyInstance {
    /** Names a dependency that must answer for `/health/ready` to be 200. */
    addReadinessCheck(name: string, check: ReadinessCheck): void;
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

/** `/health`: the process is alive. `/health/ready`: every registered dependency answers. */
export function installHealthRoutes(app: FastifyInstance): void {
  const checks = new Map<string, ReadinessCheck>();
  app.decorate('addReadinessCheck', (name: string, check: ReadinessCheck) => {
    checks.set(name, check);
  });

  app.get('/health', { schema: { hide: true }, logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/health/ready', { schema: { hide: true }, logLevel: 'warn' }, async (request, reply) => {
    const results = await Promise.all([...checks].map(async ([name, check]) => [name, await probe(check)] as const));
    const notReady = results.filter(([, ok]) => !ok).map(([name]) => name);
    if (notReady.length > 0) {
      return sendProblem(request, reply, 'SERVICE_UNAVAILABLE', `Not ready: ${notReady.join(', ')}`);
    }
    return { status: 'ready', checks: Object.fromEntries(results.map(([name]) => [name, 'ok'])) };
  });
}
