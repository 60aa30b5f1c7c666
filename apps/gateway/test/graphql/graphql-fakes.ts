import { randomUUID } from 'node:crypto';
import type { Order, Product } from '@shop/contracts';
import { AppError } from '@shop/service-kit';
import type { Teardown } from '@shop/testing';
import type { FastifyRequest } from 'fastify';
import { startFakeUpstream } from '../helper';

const now = '2026-11-28T10:00:00.000Z';

export function productWith(id: string, fields: Partial<Product> = {}): Product {
  return {
    id,
    sku: `SKU-${id.slice(0, 8)}`,
    name: `Product ${id.slice(0, 8)}`,
    description: null,
    priceCents: 1250,
    currency: 'USD',
    categoryId: null,
    tags: [],
    stock: 10,
    createdAt: now,
    updatedAt: now,
    version: 1,
    ...fields,
  };
}

export function orderWith(userId: string, productIds: string[]): Order {
  return {
    id: randomUUID(),
    userId,
    status: 'confirmed',
    items: productIds.map((productId) => ({ productId, sku: 'S', name: 'N', quantity: 1, unitPriceCents: 100, lineTotalCents: 100 })),
    totalCents: 100 * productIds.length,
    currency: 'USD',
    rejectionReason: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** The subject of the bearer token a fake received (fakes trust it: the gateway verified it). */
function callerOf(request: FastifyRequest): string | null {
  const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
  if (!token) return null;
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
}

/**
 * A catalog holding `products` (by id): single reads, the `ids` batch read, pages, categories,
 * and writes that need a token. Products can be added and removed while a test pages.
 */
export async function startCatalog(t: Teardown, products: Map<string, Product>) {
  return startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products', async (request) => {
      const query = request.query as Record<string, string>;
      const limit = Number(query.limit ?? 20);
      let items = [...products.values()].sort((a, b) => a.id.localeCompare(b.id));
      if (query.ids) items = items.filter((product) => query.ids!.split(',').includes(product.id));
      // Keyset by id: rows added or removed meanwhile never make a page repeat or skip another.
      if (query.cursor) items = items.filter((product) => product.id > Buffer.from(query.cursor!, 'base64url').toString());
      const page = items.slice(0, limit);
      const more = items.length > limit;
      return { items: page, nextCursor: more ? Buffer.from(page.at(-1)!.id).toString('base64url') : null };
    });
    app.get('/v1/products/:id', async (request) => {
      const product = products.get((request.params as { id: string }).id);
      if (!product) throw new AppError('CATALOG_PRODUCT_NOT_FOUND');
      return product;
    });
    app.post('/v1/products', async (request, reply) => {
      if (callerOf(request) === null) throw new AppError('AUTH_TOKEN_MISSING');
      const body = request.body as { sku: string };
      if (body.sku === 'TAKEN') throw new AppError('CATALOG_SKU_TAKEN', 'Another product has SKU TAKEN');
      const product = productWith(randomUUID(), body as Partial<Product>);
      products.set(product.id, product);
      return reply.code(201).send(product);
    });
    app.get('/v1/categories', async (request) => {
      const ids = ((request.query as { ids?: string }).ids ?? '').split(',').filter(Boolean);
      return { items: ids.map((id) => ({ id, name: `Category ${id.slice(0, 4)}`, slug: 'tea', description: null, createdAt: now, updatedAt: now })), nextCursor: null };
    });
    app.get('/v1/categories/:id', async (request) => ({
      id: (request.params as { id: string }).id,
      name: 'Tea',
      slug: 'tea',
      description: null,
      createdAt: now,
      updatedAt: now,
    }));
  });
}

/** Orders that answer each caller with their own orders only; someone else's order is a 404, as the real service does. */
export async function startOrders(t: Teardown, orders: Order[]) {
  return startFakeUpstream(t, 'orders', (app) => {
    app.get('/v1/orders', async (request) => {
      const caller = callerOf(request);
      if (caller === null) throw new AppError('AUTH_TOKEN_MISSING');
      const limit = Number((request.query as { limit?: string }).limit ?? 20);
      const own = orders.filter((order) => order.userId === caller);
      return { items: own.slice(0, limit), nextCursor: own.length > limit ? 'next' : null };
    });
    app.get('/v1/orders/:id', async (request) => {
      const order = orders.find((candidate) => candidate.id === (request.params as { id: string }).id);
      if (!order || order.userId !== callerOf(request)) throw new AppError('ORDERS_ORDER_NOT_FOUND');
      return order;
    });
    app.post('/v1/orders', async (request, reply) => {
      const caller = callerOf(request);
      if (caller === null) throw new AppError('AUTH_TOKEN_MISSING');
      const body = request.body as { items: { productId: string }[] };
      const order = orderWith(caller, body.items.map((item) => item.productId));
      orders.push(order);
      if (request.headers.prefer) reply.header('preference-applied', request.headers.prefer);
      return reply.code(201).send(order);
    });
  });
}
