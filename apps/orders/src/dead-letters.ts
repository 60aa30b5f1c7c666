import { createDataSource } from '@shop/db';
import { runDeadLetterCommand } from '@shop/events';
import { loadConfig } from '@shop/service-kit';
import { Type } from '@sinclair/typebox';
import { stockEventHandlers } from './consumers/stock-events';
import { ordersSchema } from './database';

/**
 * The operator's command on orders' dead letters (Nx target `dead-letters`, `node dist/dead-letters.js`
 * in the image): list, show, redrive or discard. A re-driven event goes through the same handler as
 * the consumer's, and the running service hears of the order it settles (PostgreSQL NOTIFY).
 */
const { DATABASE_URL } = loadConfig(Type.Object({ DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }) }));
const dataSource = createDataSource({ url: DATABASE_URL, poolSize: 2, ...ordersSchema });
await dataSource.initialize();
try {
  process.exitCode = await runDeadLetterCommand(process.argv.slice(2), {
    dataSource,
    group: 'orders',
    handlers: stockEventHandlers(),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
} finally {
  await dataSource.destroy();
}
