export { createDataSource, runMigrations, type DataSourceOptions } from './data-source';
export { withTransaction, isPgError, PgErrorCodes, type IsolationLevel } from './transaction';
export { installDatabase } from './plugin';
export { ensureDatabase, dropDatabase, waitForDatabase } from './admin';
export { pageByCreation, type KeysetPage } from './keyset-page';
export { afterCommit } from './after-commit';
