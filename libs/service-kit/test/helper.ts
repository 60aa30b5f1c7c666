import { Type } from '@sinclair/typebox';
import type { LightMyRequestResponse } from 'fastify';
import { AppError, createService, type ServiceInstance } from '../src/index';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Every line the service logged, parsed, plus the raw text (to prove a secret never appears). */
export interface LogCapture {
  lines: Record<string, unknown>[];
  text(): string;
  stream: { write(line: string): void };
}

export function captureLogs(): LogCapture {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    text: () => raw.join(''),
    stream: {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  };
}

export const WidgetSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    quantity: Type.Integer({ minimum: 1 }),
    email: Type.Optional(Type.String({ format: 'email' })),
  },
  { additionalProperties: false },
);

const WidgetQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String()),
});

/**
 * A service made the way every app makes one, with a few routes that exercise the kit:
 * validated bodies and querystrings, uuid params, a crash, a slow handler and an AppError.
 */
export async function buildKitApp(t: Teardown, options: { logLevel?: string } = {}): Promise<{ app: ServiceInstance; logs: LogCapture }> {
  const logs = captureLogs();
  const app = await createService({
    name: 'kit-test',
    version: '0.0.1',
    description: 'The service kit under test',
    logLevel: options.logLevel ?? 'info',
    trustProxy: false,
    logStream: logs.stream,
  });
  t.teardown(() => app.close());

  app.post('/widgets', { schema: { tags: ['widgets'], body: WidgetSchema, response: { 201: WidgetSchema } } }, async (request, reply) => {
    return reply.code(201).send(request.body);
  });
  app.get('/widgets', { schema: { tags: ['widgets'], querystring: WidgetQuerySchema } }, async (request) => ({ query: request.query }));
  app.get('/widgets/:id', { schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }) }) } }, async (request) => ({ id: request.params.id }));
  app.patch(
    '/widgets/:id',
    { schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }) }), body: Type.Partial(WidgetSchema) } },
    async (request) => ({ id: request.params.id, patch: request.body }),
  );
  app.get('/boom', async () => {
    throw new Error('secret detail from SQL');
  });
  app.get('/conflict', async () => {
    throw new AppError('PRECONDITION_FAILED', 'The widget changed', { headers: { etag: '"v2"' } });
  });
  app.get('/log-something', async (request) => {
    request.log.info({ step: 'inside the handler' }, 'handler ran');
    return { ok: true };
  });
  return { app, logs };
}

/**
 * Adds `GET /held`, answered only once the returned function is called (or the test ends): a request
 * that stays in flight exactly as long as a test needs it, however slow the machine, where one of a
 * fixed length could end too soon.
 */
export function addHeldRoute(t: Teardown, app: ServiceInstance): () => void {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  t.teardown(() => release());
  app.get('/held', async () => {
    await released;
    return { done: true };
  });
  return release;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance: string;
  code: string;
  requestId: string;
  errors?: { path: string; message: string }[];
}

export function problemOf(response: LightMyRequestResponse): ProblemBody {
  return response.json<ProblemBody>();
}

/**
 * Polls until `condition` holds or the deadline passes: no fixed sleeps in tests. Kept here rather
 * than taken from @shop/testing (its probeUntil), since testing depends on the kit.
 */
export async function eventually(condition: () => boolean | Promise<boolean>, deadlineMs = 15_000, everyMs = 25): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return condition();
}
