import type { DataSource } from 'typeorm';
import type { CatalogConfig } from './config';
import type { Catalog } from './domain/catalog';

/** What the catalog's routes work with, built once in `buildApp` and handed to each route plugin. */
export interface CatalogServices {
  config: CatalogConfig;
  db: DataSource;
  catalog: Catalog;
}
