import { randomUUID } from 'node:crypto';
import t from 'tap';
import { bearer, buildGateway, problemOf, startFakeUpstream } from '../helper';

t.test('recommendations: routed to their own service, with the edge auth of the contract', async (t) => {
  const recommendations = await startFakeUpstream(t, 'recommendations', (app) => {
    app.get('/v1/products/:id/recommendations', async () => ({ items: [] }));
    app.get('/v1/recommendations', async () => ({ items: [] }));
  });
  const catalog = await startFakeUpstream(t, 'catalog', (app) => {
    app.get('/v1/products/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  });
  const { app, issuer } = await buildGateway(t, { catalog: catalog.url, recommendations: recommendations.url });
  const productId = randomUUID();

  t.test('a product’s recommendations: anyone, the query passed on', async (t) => {
    const response = await app.inject({ method: 'GET', url: `/v1/products/${productId}/recommendations?limit=5` });
    t.equal(response.statusCode, 200);
    t.same(response.json(), { items: [] });
    t.equal(recommendations.seen.at(-1)!.url, `/v1/products/${productId}/recommendations?limit=5`);
    t.equal((await app.inject({ method: 'GET', url: `/v1/products/${productId}` })).json().id, productId, 'the product itself is still the catalog’s');
    t.equal((await app.inject({ method: 'POST', url: `/v1/products/${productId}/recommendations` })).statusCode, 405);
  });

  t.test('the caller’s recommendations: signed in only, refused at the edge', async (t) => {
    const before = recommendations.seen.length;
    const refused = await app.inject({ method: 'GET', url: '/v1/recommendations' });
    t.equal(refused.statusCode, 401);
    t.equal(problemOf(refused).code, 'AUTH_TOKEN_MISSING');
    t.equal(recommendations.seen.length, before, 'the service never saw it');
    const token = await issuer.tokenFor({ role: 'customer' });
    const response = await app.inject({ method: 'GET', url: '/v1/recommendations', headers: bearer(token) });
    t.equal(response.statusCode, 200);
    t.equal(recommendations.seen.at(-1)!.headers.authorization, `Bearer ${token}`, 'the service verifies the token again');
  });
});
