import { Type } from '@sinclair/typebox';
import t from 'tap';
import { canonicaliserOf } from '../src/canonical-ids';
import { buildKitApp } from './helper';

const ID = '3F1C2A4E-8B7D-4C6E-9A0B-1D2E3F4A5B6C';
const id = ID.toLowerCase();
const Uuid = Type.String({ format: 'uuid' });

t.test('every value a schema declares a uuid is lowercased; nothing else is touched', async (t) => {
  const schema = Type.Object({
    productId: Uuid,
    categoryId: Type.Union([Uuid, Type.Null()]),
    items: Type.Array(Type.Object({ productId: Uuid, sku: Type.String() })),
    pair: Type.Tuple([Type.String(), Uuid]),
    name: Type.String(),
  });
  const value = { productId: ID, categoryId: ID, items: [{ productId: ID, sku: 'ABC-1' }], pair: ['KEEP', ID], name: 'Tea ABC' };
  canonicaliserOf(schema)!(value);
  t.same(value, { productId: id, categoryId: id, items: [{ productId: id, sku: 'ABC-1' }], pair: ['KEEP', id], name: 'Tea ABC' });
  t.equal(canonicaliserOf(Type.Object({ name: Type.String(), n: Type.Integer() })), null, 'no uuid in the schema: no work per request');
  const loose = { categoryId: 'NOT-A-UUID' };
  canonicaliserOf(Type.Object({ categoryId: Type.Union([Uuid, Type.String()]) }))!(loose);
  t.same(loose, { categoryId: 'NOT-A-UUID' }, 'a union branch that is not a uuid keeps its value');
});

t.test('params, query and bodies reach handlers with canonical ids', async (t) => {
  const { app } = await buildKitApp(t);
  app.post('/things/:id', {
    schema: { params: Type.Object({ id: Uuid }), querystring: Type.Object({ other: Type.Optional(Uuid) }), body: Type.Object({ ids: Type.Array(Uuid) }) },
    handler: async (request) => ({ params: request.params, query: request.query, body: request.body }),
  });
  const response = await app.inject({ method: 'POST', url: `/things/${ID}?other=${ID}`, payload: { ids: [ID, id] } });
  t.equal(response.statusCode, 200);
  t.same(response.json(), { params: { id }, query: { other: id }, body: { ids: [id, id] } });
});
