import { DataSource, type EntitySchema, type MigrationInterface } from 'typeorm';
import { AfterCommitSubscriber } from './after-commit';

export interface DataSourceOptions {
  /** The service's own database: no service ever reads another's. */
  url: string;
  entities: EntitySchema[];
  migrations: (new () => MigrationInterface)[];
  /** Upper bound of pooled connections per instance. */
  poolSize?: number;
  /** Longest a statement may run, in ms (default 15 s); 0 for no limit. */
  statementTimeoutMs?: number;
}

/** One TypeORM DataSource per service. The schema only ever changes through migrations. */
export function createDataSource(options: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: 'typeorm_migrations',
    subscribers: [AfterCommitSubscriber],
    synchronize: false,
    migrationsRun: false,
    logging: ['warn', 'migration'],
    extra: {
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      // A statement that runs away must not hold a connection (and a request) forever.
      statement_timeout: options.statementTimeoutMs ?? 15_000,
      application_name: 'shop',
      // Whatever the server's default: `withTransaction` relies on it for READ COMMITTED.
      options: '-c default_transaction_isolation=read\\ committed',
    },
  });
}

/**
 * Applies every pending migration, each in its own transaction, and reports what ran.
 * Replicas that start together take turns on an advisory lock: without it, two runs race to
 * create the migrations table or apply the same migration, and one of them fails.
 */
export async function runMigrations(options: DataSourceOptions): Promise<string[]> {
  // Two connections: one holds the lock while TypeORM runs the migrations on the other.
  // No statement timeout: building an index on a large table may rightly take minutes.
  const dataSource = createDataSource({ ...options, poolSize: 2, statementTimeoutMs: 0 });
  await dataSource.initialize();
  const lock = dataSource.createQueryRunner();
  try {
    await lock.query(`SELECT pg_advisory_lock(hashtext('typeorm_migrations'))`);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await lock.query(`SELECT pg_advisory_unlock(hashtext('typeorm_migrations'))`);
    }
  } finally {
    await lock.release();
    await dataSource.destroy();
  }
}
