import type {} from '@shop/service-kit'; // for app.addReadinessCheck
import type { FastifyInstance } from 'fastify';
import type { DataSource } from 'typeorm';
import { createDataSource, type DataSourceOptions } from './data-source';

declare module 'fastify' {
  interface FastifyInstance {
    db: DataSource;
  }
}

/** Connects the service's DataSource, exposes it as `app.db`, checks it for readiness, closes it. */
export async function installDatabase(app: FastifyInstance, options: DataSourceOptions): Promise<DataSource> {
  const dataSource = createDataSource(options);
  await dataSource.initialize();
  app.decorate('db', dataSource);
  app.addReadinessCheck('database', () => dataSource.query('SELECT 1'));
  app.addHook('onClose', async () => {
    await dataSource.destroy();
  });
  return dataSource;
}
