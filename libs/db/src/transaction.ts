import type { DataSource, EntityManager } from 'typeorm';

export type IsolationLevel = 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

/**
 * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
 * Everything that must change together (a row and its outbox event, a token and its successor)
 * goes through the one `EntityManager` it is handed.
 */
export function withTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
  isolation: IsolationLevel = 'READ COMMITTED',
): Promise<T> {
  // Every connection starts in READ COMMITTED (createDataSource sets it): saying so again would
  // cost each transaction a round trip of its own (TypeORM sends SET TRANSACTION separately).
  return isolation === 'READ COMMITTED' ? dataSource.transaction(work) : dataSource.transaction(isolation, work);
}

/** Postgres error codes worth branching on. */
export const PgErrorCodes = {
  UNIQUE_VIOLATION: '23505',
  FOREIGN_KEY_VIOLATION: '23503',
  CHECK_VIOLATION: '23514',
  SERIALIZATION_FAILURE: '40001',
  DEADLOCK_DETECTED: '40P01',
} as const;

/** True when `error` is (or wraps) a Postgres error with this SQLSTATE and, optionally, constraint. */
export function isPgError(error: unknown, code: string, constraint?: string): boolean {
  const driverError = (error as { driverError?: { code?: string; constraint?: string } })?.driverError ?? (error as { code?: string; constraint?: string });
  return driverError?.code === code && (constraint === undefined || driverError.constraint === constraint);
}
