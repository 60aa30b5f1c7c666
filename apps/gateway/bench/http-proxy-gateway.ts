/**
 * The reference point, not a gateway of ours: a plain @fastify/http-proxy in front of
 * CATALOG_URL, as its README sets it up (no logger, no hooks, nothing else). The benchmark
 * prints its ratio beside the gateway's, so both are read on the same machine in the same run.
 */
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const app = Fastify();
app.get('/health', async () => 'ok');
await app.register(proxy, { upstream: process.env.CATALOG_URL ?? 'http://127.0.0.1:3002', prefix: '/v1/products', rewritePrefix: '/v1/products' });
await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
