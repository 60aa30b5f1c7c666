/**
 * Offline evaluation (Nx target `evaluate`): random, popularity and the model on a generated shop
 * with planted structure, each customer's last order held out. Prints hit-rate@10, precision@10
 * and recall@10 beside the target (the model's hit-rate at least twice popularity's).
 *
 *   npx nx evaluate recommendations       EVAL_SEED, EVAL_CUSTOMERS, EVAL_GROUPS to vary it
 */
import { EVALUATION_DEFAULTS, runEvaluation, type Scores } from './evaluation';

const options = {
  ...EVALUATION_DEFAULTS,
  seed: Number(process.env.EVAL_SEED ?? EVALUATION_DEFAULTS.seed),
  customers: Number(process.env.EVAL_CUSTOMERS ?? EVALUATION_DEFAULTS.customers),
  groups: Number(process.env.EVAL_GROUPS ?? EVALUATION_DEFAULTS.groups),
  postgresUrl: process.env.EVAL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
};
const started = performance.now();
const result = await runEvaluation(options);
const row = (name: string, scores: Scores) =>
  `${name.padEnd(12)} ${scores.hitRate.toFixed(3).padStart(14)} ${scores.precision.toFixed(3).padStart(14)} ${scores.recall.toFixed(3).padStart(11)}`;
const ratio = result.model.hitRate / result.popularity.hitRate;
process.stdout.write(
  [
    `shop: ${options.groups} groups of ${options.productsPerGroup} products, ${options.customers} customers (seed ${options.seed}); ` +
      `trained on ${result.trainingOrders} orders, evaluated on ${result.customersEvaluated} held-out last orders`,
    '',
    `${'method'.padEnd(12)} ${'hit-rate@10'.padStart(14)} ${'precision@10'.padStart(14)} ${'recall@10'.padStart(11)}`,
    row('random', result.random),
    row('popularity', result.popularity),
    row('model', result.model),
    '',
    `model / popularity hit-rate: ${ratio.toFixed(2)}x   target >= 2x: ${ratio >= 2 ? 'met' : 'NOT met'}`,
    `(${Math.round(performance.now() - started)} ms)`,
    '',
  ].join('\n'),
);
