import type { Category, CategoryCreateBody, CategoryListQuery, CategoryPatchBody } from '@shop/contracts';
import { isPgError, PgErrorCodes } from '@shop/db';
import { AppError } from '@shop/service-kit';
import type { DataSource, EntityManager } from 'typeorm';
import { CategoryEntity, type CategoryRow } from '../database';
import { assertIfMatch, type IfMatch } from './entity-tags';
import { keysetValueSchemas, pageByKeyset, type KeysetPage, type KeysetSort } from './keyset-pagination';

export function toCategory(row: CategoryRow): Category {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    description: row.description,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** A URL-friendly slug from a name: "Kitchen & Dining" → "kitchen-dining". */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100)
    .replace(/-+$/, '');
}

export async function findCategory(db: DataSource | EntityManager, id: string): Promise<CategoryRow> {
  const row = await db.getRepository(CategoryEntity).findOneBy({ id });
  if (!row) throw new AppError('CATALOG_CATEGORY_NOT_FOUND', `No category has the id ${id}`);
  return row;
}

export function findCategoryBySlug(db: DataSource | EntityManager, slug: string): Promise<CategoryRow | null> {
  return db.getRepository(CategoryEntity).findOneBy({ slug });
}

const BY_NAME: KeysetSort<CategoryRow> = {
  name: 'name',
  column: 'name',
  sqlType: 'text',
  descending: false,
  valueSchema: keysetValueSchemas.text,
  valueOf: (row) => row.name,
};

/** Categories in alphabetical order, the way a shop front lists them. */
export function listCategories(db: DataSource, query: CategoryListQuery): Promise<KeysetPage<CategoryRow>> {
  const select = `SELECT c.id, c.name, c.slug, c.description, c.version, c.created_at AS "createdAt", c.updated_at AS "updatedAt" FROM categories c`;
  const conditions = query.ids === undefined ? [] : ['c.id = ANY($1::uuid[])'];
  const params = query.ids === undefined ? [] : [query.ids.toLowerCase().split(',')];
  return pageByKeyset<CategoryRow>(db, { select, alias: 'c', conditions, params }, BY_NAME, query);
}

/*
 * Writes: one function per mutation, taking the transaction's EntityManager, where the category's
 * outbox event will be appended through the same manager.
 */

export async function createCategory(manager: EntityManager, body: CategoryCreateBody): Promise<CategoryRow> {
  const name = body.name.trim();
  const slug = body.slug ?? slugify(name);
  if (slug === '') {
    throw new AppError('REQUEST_VALIDATION_FAILED', 'The body is not valid', {
      errors: [{ path: '/body/slug', message: 'cannot be made from this name; send one' }],
    });
  }
  const repository = manager.getRepository(CategoryEntity);
  const row = await saveTranslatingConflicts(manager, repository.create({ name, slug, description: body.description ?? null }));
  // Event (none is defined yet): category.created.v1 would be appended here, through the same manager.
  return row;
}

export async function patchCategory(manager: EntityManager, id: string, patch: CategoryPatchBody, ifMatch?: IfMatch): Promise<CategoryRow> {
  const row = await lockCategory(manager, id);
  assertIfMatch(row.version, ifMatch);
  const changes: Partial<CategoryRow> = {};
  if (patch.name !== undefined) changes.name = patch.name.trim();
  if (patch.slug !== undefined) changes.slug = patch.slug;
  if (patch.description !== undefined) changes.description = patch.description;
  const changed = (Object.keys(changes) as (keyof CategoryRow)[]).some((key) => row[key] !== changes[key]);
  if (!changed) return row;
  const updated = await saveTranslatingConflicts(manager, manager.getRepository(CategoryEntity).merge(row, changes));
  // Event (none is defined yet): category.updated.v1 would be appended here, through the same manager.
  return updated;
}

/** Refused with 409 while any product still belongs to the category (the foreign key decides, race-free). */
export async function deleteCategory(manager: EntityManager, id: string, ifMatch?: IfMatch): Promise<CategoryRow> {
  const row = await lockCategory(manager, id);
  assertIfMatch(row.version, ifMatch);
  try {
    await manager.getRepository(CategoryEntity).delete({ id });
  } catch (error) {
    if (isPgError(error, PgErrorCodes.FOREIGN_KEY_VIOLATION, 'products_category_id_fkey')) {
      throw new AppError('CATALOG_CATEGORY_IN_USE', 'Move or delete its products first');
    }
    throw error;
  }
  // Event (none is defined yet): category.deleted.v1 would be appended here, through the same manager.
  return row;
}

async function lockCategory(manager: EntityManager, id: string): Promise<CategoryRow> {
  const row = await manager.getRepository(CategoryEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  if (!row) throw new AppError('CATALOG_CATEGORY_NOT_FOUND', `No category has the id ${id}`);
  return row;
}

async function saveTranslatingConflicts(manager: EntityManager, row: CategoryRow): Promise<CategoryRow> {
  try {
    return await manager.getRepository(CategoryEntity).save(row);
  } catch (error) {
    if (isPgError(error, PgErrorCodes.UNIQUE_VIOLATION, 'categories_slug_key')) {
      throw new AppError('CATALOG_SLUG_TAKEN', `Another category already has the slug ${row.slug}`);
    }
    throw error;
  }
}
