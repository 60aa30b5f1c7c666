import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const UuidSchema = Type.String({ format: 'uuid' });
export const TimestampSchema = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });

/** Path parameter `{id}`. A malformed id answers 404, as an id that does not exist would. */
export const IdParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });
export type IdParams = Static<typeof IdParamsSchema>;

export const ListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Opaque, from the previous page' })),
});
export type ListQuery = Static<typeof ListQuerySchema>;

/** One page of a list: `nextCursor` is null on the last page. */
export function PageSchema<T extends TSchema>(item: T, options: { $id?: string } = {}) {
  return Type.Object(
    {
      items: Type.Array(item),
      nextCursor: Type.Union([Type.String(), Type.Null()]),
    },
    options,
  );
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
