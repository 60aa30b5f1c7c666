import { TEST_DATABASE_URL } from '@shop/testing';
import t from 'tap';
import { EVALUATION_DEFAULTS, generateShop, runEvaluation } from '../../scripts/evaluation';

const SMALL = { ...EVALUATION_DEFAULTS, seed: 7, groups: 12, customers: 150 };

t.test('the generated shop is the same for the same seed, and has its planted structure', async (t) => {
  const first = generateShop(SMALL);
  t.same(generateShop(SMALL), first, 'deterministic');
  t.not(JSON.stringify(generateShop({ ...SMALL, seed: 8 }).orders), JSON.stringify(first.orders), 'another seed, another shop');
  t.equal(first.products.length, 12 * 10);
  const groupOf = new Map(first.products.map((product) => [product.id, product.group]));
  // Most lines of an order share its main group: what "bought together" is made of.
  let sameGroup = 0;
  let lines = 0;
  for (const order of first.orders) {
    const main = groupOf.get(order.products[0]!)!;
    lines += order.products.length;
    sameGroup += order.products.filter((id) => groupOf.get(id) === main).length;
  }
  t.ok(sameGroup / lines > 0.7, `lines in the order's group: ${(sameGroup / lines).toFixed(2)}`);
});

// The figures themselves (and the 2x-popularity target) are the evaluation script's to print, not a test's to assert.
t.test('on a small fixed seed, the model beats random', async (t) => {
  const result = await runEvaluation({ ...SMALL, postgresUrl: TEST_DATABASE_URL });
  t.ok(result.customersEvaluated > 50, `${result.customersEvaluated} customers evaluated`);
  t.ok(result.model.hitRate > result.random.hitRate, `model hit-rate ${result.model.hitRate.toFixed(3)} > random ${result.random.hitRate.toFixed(3)}`);
  t.ok(result.model.recall > result.random.recall, 'and its recall too');
});
