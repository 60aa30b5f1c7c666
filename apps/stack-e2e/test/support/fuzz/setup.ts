import { type ApiClient, type Actors, bearer, createCategory, createProduct } from '../client';
import type { Operation, ResponseChecker } from '../openapi';
import { requestSchemaOf, type FuzzContext } from './requests';

const PRODUCT_SORTS = ['createdAt', '-createdAt', 'price', '-price', 'name', '-name'];

/**
 * Objects for valid requests to reach (so they are not all 404s), and real cursors of every
 * list to tamper with. API keys and users in the pools are disposable: fuzzing may revoke,
 * demote or delete them.
 */
export async function fuzzContext(client: ApiClient, actors: Actors, checker: ResponseChecker): Promise<FuzzContext> {
  const admin = bearer(actors.admin.token);
  const category = await createCategory(client, actors.admin.token);
  const products = await Promise.all(Array.from({ length: 4 }, (_, index) => createProduct(client, actors.admin.token, { stock: 1_000_000, categoryId: index % 2 === 0 ? category.id : null })));
  const apiKeys = await Promise.all(
    Array.from({ length: 3 }, (_, index) => client.expectOk<{ id: string }>({ method: 'POST', path: '/v1/auth/api-keys', headers: admin, body: { name: `fuzz-${index}`, scopes: [] } })),
  );
  const orders = [];
  for (let index = 0; index < 3; index += 1) {
    orders.push(await client.expectOk<{ id: string }>({ method: 'POST', path: '/v1/orders', headers: admin, body: { items: [{ productId: products[0]!.id, quantity: 1 }] } }));
  }
  const cursorOf = async (path: string) => (await client.expectOk<{ nextCursor: string | null }>({ method: 'GET', path, headers: admin })).nextCursor;
  const cursors: Record<string, string[]> = {
    listProducts: await Promise.all(PRODUCT_SORTS.map((sort) => cursorOf(`/v1/products?limit=1&sort=${sort}`))).then((list) => list.filter((cursor) => cursor !== null)),
    listCategories: [await cursorOf('/v1/categories?limit=1')].filter((cursor) => cursor !== null),
    listOrders: [await cursorOf('/v1/orders?limit=1')].filter((cursor) => cursor !== null),
    listUsers: [await cursorOf('/v1/users?limit=1')].filter((cursor) => cursor !== null),
    listApiKeys: [await cursorOf('/v1/auth/api-keys?limit=1')].filter((cursor) => cursor !== null),
  };
  return {
    pools: {
      product: products.map((product) => product.id),
      category: [category.id],
      order: orders.map((order) => order.id),
      user: [actors.other.id],
      apiKey: apiKeys.map((key) => key.id),
    },
    cursors,
    acceptsBody: (operation: Operation, body: unknown) => {
      const schema = requestSchemaOf(operation);
      return schema === undefined ? body === undefined : checker.accepts(schema, body);
    },
  };
}
