import { createDataSource } from '@shop/db';
import { runDeadLetterCommand } from '@shop/events';
import { loadConfig } from '@shop/service-kit';
import { modelSettingsOf, RecommendationsConfigSchema } from './config';
import { learningEventHandlers } from './consumers/learning-events';
import { recommendationsSchema } from './database';

/**
 * The operator's command on the recommendations' dead letters (Nx target `dead-letters`,
 * `node dist/dead-letters.js` in the image): list, show, redrive or discard. A re-driven event goes
 * through the same handler as the consumer's, with the same model settings.
 */
const config = loadConfig(RecommendationsConfigSchema);
const dataSource = createDataSource({ url: config.DATABASE_URL, poolSize: 2, ...recommendationsSchema });
await dataSource.initialize();
try {
  process.exitCode = await runDeadLetterCommand(process.argv.slice(2), {
    dataSource,
    group: 'recommendations',
    handlers: learningEventHandlers(modelSettingsOf(config)),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
} finally {
  await dataSource.destroy();
}
