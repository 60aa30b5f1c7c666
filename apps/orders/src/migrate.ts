import { runMigrations, waitForDatabase } from '@shop/db';
import { loadConfig } from '@shop/service-kit';
import { Type } from '@sinclair/typebox';
import { ordersSchema } from './database';

/** Applies orders' pending migrations to DATABASE_URL (Nx target `migrate`, and the image's migrate job). */
const { DATABASE_URL } = loadConfig(Type.Object({ DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }) }));
// Started beside its database (compose, an init container), it waits for the server rather than fail.
await waitForDatabase(DATABASE_URL, { onWait: (error) => process.stdout.write(`waiting for PostgreSQL (${error.message})\n`) });
const applied = await runMigrations({ url: DATABASE_URL, ...ordersSchema });
process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
