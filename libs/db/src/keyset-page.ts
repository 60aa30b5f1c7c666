import { AppError, CursorTimestampSchema, decodeCursor, encodeCursor } from '@shop/service-kit';
import { Type } from '@sinclair/typebox';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

const CreationCursorSchema = Type.Tuple([CursorTimestampSchema, Type.String({ format: 'uuid' })]);

/**
 * The cursor's time as this function issued it (`toISOString`), handed to the driver as a Date:
 * a string that is a valid date-time to a format checker can still make PostgreSQL fail
 * (year 0000), and a tampered cursor must be a 400, never a 500.
 */
function cursorTime(value: string): Date {
  const time = new Date(value);
  if (Number.isNaN(time.getTime()) || time.toISOString() !== value) {
    throw new AppError('REQUEST_VALIDATION_FAILED', 'The cursor is not valid', {
      errors: [{ path: '/querystring/cursor', message: 'is not a cursor this list issued' }],
    });
  }
  return time;
}

export interface KeysetPage<T> {
  rows: T[];
  nextCursor: string | null;
}

/**
 * One page of rows in creation order, by keyset on `(created_at, id)`: a row inserted or deleted
 * while a client pages through never makes it repeat or skip a row that existed throughout.
 * `created_at` columns are millisecond precision (timestamptz(3)) so the cursor's value is exact.
 */
export async function pageByCreation<T extends ObjectLiteral & { id: string; createdAt: Date }>(
  query: SelectQueryBuilder<T>,
  options: { limit: number; cursor?: string | undefined; newestFirst?: boolean },
): Promise<KeysetPage<T>> {
  const alias = query.alias;
  const comparison = options.newestFirst ? '<' : '>';
  const order = options.newestFirst ? 'DESC' : 'ASC';
  if (options.cursor !== undefined) {
    const [createdAt, id] = decodeCursor(options.cursor, CreationCursorSchema);
    query.andWhere(`(${alias}.created_at, ${alias}.id) ${comparison} (:cursorCreatedAt, :cursorId)`, {
      cursorCreatedAt: cursorTime(createdAt),
      cursorId: id,
    });
  }
  const rows = await query
    .orderBy(`${alias}.created_at`, order)
    .addOrderBy(`${alias}.id`, order)
    .take(options.limit + 1)
    .getMany();
  const hasMore = rows.length > options.limit;
  const page = hasMore ? rows.slice(0, options.limit) : rows;
  const last = page.at(-1);
  return {
    rows: page,
    nextCursor: hasMore && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null,
  };
}
