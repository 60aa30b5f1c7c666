/**
 * The benchmark's fallback upstream when the real catalog cannot be started: the service kit
 * answering GET /v1/products/:id with a product serialised by the contract's schema, with ETag
 * and Cache-Control. Run as its own process, like the real one (PORT from the environment).
 */
import { ProductSchema } from '@shop/contracts';
import { createService } from '@shop/service-kit';

const now = new Date().toISOString();
const product = {
  id: '0b6f2c1e-6a7d-4f55-9a63-2f4c1d7e9b10',
  sku: 'BENCH-TEA-1',
  name: 'Sencha, first flush',
  description: 'A green tea from Shizuoka.',
  priceCents: 1_250,
  currency: 'USD',
  categoryId: null,
  tags: ['tea', 'green'],
  stock: 100,
  createdAt: now,
  updatedAt: now,
  version: 1,
};

const app = await createService({ name: 'catalog', version: '1.0.0', description: 'benchmark stand-in', logLevel: 'warn', trustProxy: 'loopback' });
app.get('/v1/products/:id', { schema: { response: { 200: ProductSchema } } }, async (_request, reply) =>
  reply.header('etag', `"${product.version}"`).header('cache-control', 'public, max-age=0, must-revalidate').send(product),
);
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
