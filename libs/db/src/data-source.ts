import { DataSource, type EntitySchema, type MigrationInterface } from 'typeorm';

export interface DataSourceOptions {
  /** The service's own database: no service ever reads another's. */
  url: string;
  entities: EntitySchema[];
  migrations: (new () => MigrationInterface)[];
  /** Upper bound of pooled connections per instance. */
  poolSize?: number;
}

/** One TypeORM DataSource per service. The schema only ever changes through migrations. */
export function createDataSource(options: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: ['warn', 'migration'],
    extra: {
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      // A statement that runs away must not hold a connection (and a request) forever.
      statement_timeout: 15_000,
      application_name: 'shop',
    },
  });
}

/** Applies every pending migration, each in its own transaction, and reports what ran. */
export async function runMigrations(options: DataSourceOptions): Promise<string[]> {
  const dataSource = createDataSource({ ...options, poolSize: 1 });
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}
