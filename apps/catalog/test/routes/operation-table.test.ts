import { CATALOG_OPERATIONS } from '@shop/contracts';
import { operationCoverage } from '@shop/service-kit';
import t from 'tap';
import { build } from '../helper';

// The contracts declare the public API once; the catalog service serves exactly its part of it, from that declaration.
t.test('serves every public operation the contracts declare for it, registered from the table, and no other', async (t) => {
  const { app } = await build(t);
  t.same(operationCoverage(app, CATALOG_OPERATIONS), { undeclared: [], unserved: [], unregistered: [] });
});
