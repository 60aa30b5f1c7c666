import { createDataSource } from '@shop/db';
import { loadConfig } from '@shop/service-kit';
import { Type } from '@sinclair/typebox';
import { RecommendationsConfigSchema } from './config';
import { recommendationsSchema } from './database';
import { rebuildModel } from './domain/model-rebuild';

/**
 * Recomputes the model from the stored order facts (Nx target `rebuild`, and `dist/rebuild.js`
 * in the image): after a change of POPULARITY_HALF_LIFE_DAYS, or to verify the running counts.
 * Safe while the service runs: the consumer waits for it, readers see the old model until it commits.
 */
const config = loadConfig(Type.Pick(RecommendationsConfigSchema, ['DATABASE_URL', 'POPULARITY_HALF_LIFE_DAYS']));
// No statement timeout: a rebuild of a large history legitimately runs for a while.
const db = createDataSource({ url: config.DATABASE_URL, ...recommendationsSchema, statementTimeoutMs: 0, poolSize: 1 });
await db.initialize();
try {
  const report = await rebuildModel(db, config.POPULARITY_HALF_LIFE_DAYS * 86_400);
  process.stdout.write(
    `rebuilt from ${report.countedOrders} counted orders: ${report.products} products, ${report.pairs} pairs in ${Math.round(report.durationMs)} ms (steps, ms: ${JSON.stringify(report.steps)})\n`,
  );
} finally {
  await db.destroy();
}
