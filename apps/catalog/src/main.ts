import { startTracing } from '@shop/telemetry';

// Tracing first, everything else after it: pg, ioredis and undici are instrumented as they are
// loaded, so nothing that imports them may be imported (statically) before this line has run.
const tracing = await startTracing({ serviceName: 'catalog' });
const { serve } = await import('./serve');
await serve(tracing);
