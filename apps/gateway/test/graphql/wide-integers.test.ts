import { randomUUID } from 'node:crypto';
import type { Order } from '@shop/contracts';
import t from 'tap';
import { bearer, buildGateway } from '../helper';
import { orderWith, startCatalog, startOrders } from './graphql-fakes';

// The largest order the contract allows: 1000 units at the largest price, past GraphQL's 32-bit Int.
const WIDE_TOTAL = 999_999_999_000;

t.test('an order total past 2^31 reaches GraphQL exactly, as REST carries it', async (t) => {
  const orders: Order[] = [];
  const catalog = await startCatalog(t, new Map());
  const ordersService = await startOrders(t, orders);
  const { app, issuer } = await buildGateway(t, { catalog: catalog.url, orders: ordersService.url });
  const userId = randomUUID();
  const order = orderWith(userId, [randomUUID()]);
  order.items[0] = { ...order.items[0]!, quantity: 1000, unitPriceCents: 999_999_999, lineTotalCents: WIDE_TOTAL };
  order.totalCents = WIDE_TOTAL;
  orders.push(order);
  const headers = bearer(await issuer.tokenFor({ userId }));

  const graphql = await app.inject({
    method: 'POST',
    url: '/graphql',
    headers,
    payload: { query: 'query ($id: ID!) { order(id: $id) { totalCents items { quantity unitPriceCents lineTotalCents } } }', variables: { id: order.id } },
  });
  t.equal(graphql.statusCode, 200);
  t.same(graphql.json(), { data: { order: { totalCents: WIDE_TOTAL, items: [{ quantity: 1000, unitPriceCents: 999_999_999, lineTotalCents: WIDE_TOTAL }] } } }, 'no GATEWAY_BAD_UPSTREAM_RESPONSE');
  t.match(graphql.body, /"totalCents":999999999000[,}]/, 'written as the same integer, not rounded or in exponent form');

  const rest = await app.inject({ method: 'GET', url: `/v1/orders/${order.id}`, headers });
  t.equal(rest.statusCode, 200);
  t.equal(rest.json<Order>().totalCents, WIDE_TOTAL, 'REST answers the same value');
});

