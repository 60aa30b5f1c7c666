import { randomUUID } from 'node:crypto';
import { GATEWAY_OPERATIONS, PUBLIC_OPERATIONS } from '@shop/contracts';
import { operationCoverage } from '@shop/service-kit';
import t from 'tap';
import { INTERNAL_PATH, startFakeServices } from '../fake-services';
import { bearer, buildGateway, problemOf } from '../helper';

const SERVICES_OPERATIONS = Object.fromEntries(PUBLIC_OPERATIONS.filter((operation) => operation.service !== 'gateway').map((operation) => [operation.operationId, operation]));

t.test('the gateway routes exactly the operations of the table', async (t) => {
  const fakes = await startFakeServices(t);
  const { app, issuer } = await buildGateway(t, { auth: fakes.auth.url, catalog: fakes.catalog.url, orders: fakes.orders.url, recommendations: fakes.recommendations.url });

  t.test("every operation of the services is routed, each from its declaration, and nothing else", async (t) => {
    // GraphQL is served from the same operations (each field calls one), at routes of its own.
    const graphqlRoutes = ['GET /graphql', 'GET /graphql/schema.graphql', 'POST /graphql'];
    t.same(operationCoverage(app, SERVICES_OPERATIONS), { undeclared: graphqlRoutes, unserved: [], unregistered: [] });
    for (const operation of Object.values(GATEWAY_OPERATIONS)) t.ok(app.hasRoute({ method: operation.method, url: operation.path }), `${operation.operationId} is the gateway's own`);
  });

  t.test('each HTTP operation reaches the service that declares it, at the same route', async (t) => {
    const token = await issuer.tokenFor({ role: 'admin' });
    for (const operation of Object.values(SERVICES_OPERATIONS)) {
      if (operation.websocket) continue;
      const url = operation.path.replace(/:[A-Za-z]+/g, randomUUID());
      const response = await app.inject({
        method: operation.method,
        url,
        headers: { ...bearer(token), ...(operation.schema.body ? { 'content-type': 'application/json' } : {}) },
        ...(operation.schema.body ? { payload: '{}' } : {}),
      });
      const route = `${operation.method} ${operation.path}`;
      t.ok(fakes[operation.service as keyof typeof fakes].reached.includes(route), `${operation.operationId}: ${route} reached ${operation.service} (answered ${response.statusCode})`);
      const elsewhere = Object.entries(fakes).filter(([service, fake]) => service !== operation.service && fake.reached.includes(route));
      t.same(elsewhere.map(([service]) => service), [], `${operation.operationId}: no other service`);
    }
  });

  t.test("a service's internal route is not reachable", async (t) => {
    const response = await app.inject({ method: 'GET', url: INTERNAL_PATH });
    t.equal(response.statusCode, 404);
    t.equal(problemOf(response).code, 'ROUTE_NOT_FOUND');
    t.notOk(Object.values(fakes).some((fake) => fake.seen.some((request) => request.url === INTERNAL_PATH)));
  });
});
