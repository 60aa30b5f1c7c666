import { PriceCentsSchema } from '@shop/contracts';
import { CursorTimestampSchema, decodeCursor, encodeCursor } from '@shop/service-kit';
import { Type, type TSchema } from '@sinclair/typebox';
import type { DataSource } from 'typeorm';

/**
 * A sort order a list can be paged by: one column plus the id as tie-breaker, both in the same
 * direction, so `(column, id)` is unique and a row-value comparison continues exactly where the
 * previous page stopped. (libs/db's `pageByCreation` is the special case `created_at`.)
 */
export interface KeysetSort<T> {
  /** Its public name; part of the cursor, so a cursor only continues the sort that issued it. */
  name: string;
  /** The SQL column, qualified by the query's alias at use (a trusted identifier, never input). */
  column: string;
  /** The SQL type the cursor's value is cast to, so the comparison uses the column's index. */
  sqlType: 'timestamptz' | 'integer' | 'text';
  descending: boolean;
  /** The shape of the value in a cursor (checked when a cursor comes back). */
  valueSchema: TSchema;
  /** The row's value of the column, exactly as it is compared in SQL (timestamps to the millisecond). */
  valueOf(row: T): string | number;
}

export interface KeysetPage<T> {
  rows: T[];
  nextCursor: string | null;
}

/** A list query as SQL: `select` is `SELECT ... FROM <table> <alias>`, `conditions` are ANDed, `params` are $1, $2, ... */
export interface KeysetQuery {
  select: string;
  alias: string;
  conditions: string[];
  params: unknown[];
}

/**
 * One page of `query` by keyset on `(sort column, id)`: a row inserted or deleted while a client
 * pages through never makes it repeat or skip a row that existed throughout, and every page costs
 * one index range scan however deep it is. The cursor is opaque to clients: `[sort, value, id]`.
 * Plain SQL, no ORM: on the hottest read path, hydrating entities cost more than the query.
 */
export async function pageByKeyset<T extends { id: string }>(
  db: DataSource,
  query: KeysetQuery,
  sort: KeysetSort<T>,
  options: { limit: number; cursor?: string | undefined },
): Promise<KeysetPage<T>> {
  const conditions = [...query.conditions];
  const params = [...query.params];
  const column = `${query.alias}.${sort.column}`;
  const id = `${query.alias}.id`;
  const direction = sort.descending ? 'DESC' : 'ASC';
  if (options.cursor !== undefined) {
    const cursorSchema = Type.Tuple([Type.Literal(sort.name), sort.valueSchema, Type.String({ format: 'uuid' })]);
    const [, value, lastId] = decodeCursor(options.cursor, cursorSchema) as [string, string | number, string];
    params.push(value, lastId);
    conditions.push(`(${column}, ${id}) ${sort.descending ? '<' : '>'} ($${params.length - 1}::${sort.sqlType}, $${params.length}::uuid)`);
  }
  params.push(options.limit + 1);
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  const rows: T[] = await db.query(`${query.select}${where} ORDER BY ${column} ${direction}, ${id} ${direction} LIMIT $${params.length}`, params);
  const hasMore = rows.length > options.limit;
  const page = hasMore ? rows.slice(0, options.limit) : rows;
  const last = page.at(-1);
  return {
    rows: page,
    nextCursor: hasMore && last ? encodeCursor([sort.name, sort.valueOf(last), last.id]) : null,
  };
}

/**
 * The sorts of a list by a creation time, a price and a name, each both ways. A cursor's value is
 * held to the bounds of the column it is compared with (a time PostgreSQL can hold, a price the
 * contract allows), so a tampered cursor is a 400 and never an out-of-range error in SQL.
 */
export const keysetValueSchemas = {
  timestamp: CursorTimestampSchema,
  price: PriceCentsSchema,
  text: Type.String({ maxLength: 1_000 }),
};
