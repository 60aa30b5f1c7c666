import { runMigrations } from '@shop/db';
import { loadConfig } from '@shop/service-kit';
import { Type } from '@sinclair/typebox';
import { recommendationsSchema } from './database';

/** Applies the service's pending migrations to DATABASE_URL (Nx target `migrate`, and the image's migrate job). */
const { DATABASE_URL } = loadConfig(Type.Object({ DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }) }));
const applied = await runMigrations({ url: DATABASE_URL, ...recommendationsSchema });
process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
