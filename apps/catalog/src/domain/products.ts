import type { Product, ProductListQuery, ProductPatchBody, ProductSort, ProductWriteBody } from '@shop/contracts';
import { isPgError, PgErrorCodes } from '@shop/db';
import { AppError } from '@shop/service-kit';
import type { DataSource, EntityManager } from 'typeorm';
import { ProductEntity, type ProductRow } from '../database';
import { assertIfMatch, type IfMatch } from './entity-tags';
import { keysetValueSchemas, pageByKeyset, type KeysetPage, type KeysetSort } from './keyset-pagination';
import { productCreated, productDeleted, productUpdated } from './product-events';

/** What every product write is checked against. */
export interface ProductRules {
  /** The store's one currency: a product in any other is refused. */
  currency: string;
}

export function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    priceCents: row.priceCents,
    currency: row.currency,
    categoryId: row.categoryId,
    tags: row.tags,
    stock: row.stock,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    version: row.version,
  };
}

/** Rows shaped as `ProductRow`, straight from the driver. */
const SELECT_PRODUCT_ROWS = `
  SELECT p.id, p.sku, p.name, p.description, p.price_cents AS "priceCents", p.currency, p.category_id AS "categoryId",
         p.tags, p.stock, p.version, p.created_at AS "createdAt", p.updated_at AS "updatedAt"
  FROM products p`;

export async function findProduct(db: DataSource | EntityManager, id: string): Promise<ProductRow | null> {
  const rows: ProductRow[] = await db.query(`${SELECT_PRODUCT_ROWS} WHERE p.id = $1`, [id]);
  return rows[0] ?? null;
}

const PRODUCT_SORTS: Record<ProductSort, KeysetSort<ProductRow>> = {
  createdAt: byCreation(false),
  '-createdAt': byCreation(true),
  price: byPrice(false),
  '-price': byPrice(true),
  name: byName(false),
  '-name': byName(true),
};

function byCreation(descending: boolean): KeysetSort<ProductRow> {
  return {
    name: descending ? '-createdAt' : 'createdAt',
    column: 'created_at',
    sqlType: 'timestamptz',
    descending,
    valueSchema: keysetValueSchemas.timestamp,
    valueOf: (row) => row.createdAt.toISOString(),
  };
}

function byPrice(descending: boolean): KeysetSort<ProductRow> {
  return {
    name: descending ? '-price' : 'price',
    column: 'price_cents',
    sqlType: 'integer',
    descending,
    valueSchema: keysetValueSchemas.price,
    valueOf: (row) => row.priceCents,
  };
}

function byName(descending: boolean): KeysetSort<ProductRow> {
  return {
    name: descending ? '-name' : 'name',
    column: 'name',
    sqlType: 'text',
    descending,
    valueSchema: keysetValueSchemas.text,
    valueOf: (row) => row.name,
  };
}

/**
 * One page of products, filtered and sorted. A search (`q`) keeps the chosen sort rather than
 * ranking by relevance: a rank is not a stable key, and keyset paging needs one.
 */
export function listProducts(db: DataSource, query: ProductListQuery): Promise<KeysetPage<ProductRow>> {
  if (query.minPrice !== undefined && query.maxPrice !== undefined && query.minPrice > query.maxPrice) {
    throw new AppError('REQUEST_VALIDATION_FAILED', 'The querystring is not valid', {
      errors: [{ path: '/querystring/minPrice', message: 'must not be greater than maxPrice' }],
    });
  }
  const conditions: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  if (query.ids !== undefined) conditions.push(`p.id = ANY(${param(query.ids.toLowerCase().split(','))}::uuid[])`);
  if (query.categoryId !== undefined) conditions.push(`p.category_id = ${param(query.categoryId)}`);
  if (query.minPrice !== undefined) conditions.push(`p.price_cents >= ${param(query.minPrice)}`);
  if (query.maxPrice !== undefined) conditions.push(`p.price_cents <= ${param(query.maxPrice)}`);
  if (query.inStock !== undefined) conditions.push(query.inStock ? 'p.stock > 0' : 'p.stock = 0');
  if (query.q !== undefined) conditions.push(`p.search @@ websearch_to_tsquery('english', ${param(query.q)})`);
  return pageByKeyset<ProductRow>(db, { select: SELECT_PRODUCT_ROWS, alias: 'p', conditions, params }, PRODUCT_SORTS[query.sort], query);
}

/*
 * Writes. Each mutation is one function taking the transaction's EntityManager: the caller runs it
 * in one `withTransaction`, and the product's outbox event is appended right here, through the same
 * manager, so the row and its event commit together or not at all.
 */

export async function createProduct(manager: EntityManager, body: ProductWriteBody, rules: ProductRules): Promise<ProductRow> {
  const fields = writableFields(body, rules);
  const row = await saveTranslatingConflicts(manager, manager.getRepository(ProductEntity).create(fields));
  await productCreated(manager, row);
  return row;
}

/** PUT: every writable field is replaced; omitted optional ones fall back to their defaults. */
export async function replaceProduct(
  manager: EntityManager,
  id: string,
  body: ProductWriteBody,
  rules: ProductRules,
  ifMatch?: IfMatch,
): Promise<ProductRow> {
  const row = await lockProduct(manager, id);
  assertIfMatch(row.version, ifMatch);
  const { updated, changed } = await applyChanges(manager, row, writableFields(body, rules));
  // A no-op write changed nothing, so it tells nobody anything either.
  if (changed.length > 0) await productUpdated(manager, updated, changed);
  return updated;
}

/** PATCH as a JSON merge patch (RFC 7396): absent fields stay, `null` removes an optional field. */
export async function patchProduct(
  manager: EntityManager,
  id: string,
  patch: ProductPatchBody,
  rules: ProductRules,
  ifMatch?: IfMatch,
): Promise<ProductRow> {
  const row = await lockProduct(manager, id);
  assertIfMatch(row.version, ifMatch);
  const changes: Partial<ProductRow> = {};
  if (patch.sku !== undefined) changes.sku = patch.sku;
  if (patch.name !== undefined) changes.name = patch.name.trim();
  if (patch.description !== undefined) changes.description = patch.description;
  if (patch.priceCents !== undefined) changes.priceCents = patch.priceCents;
  if (patch.currency !== undefined) changes.currency = checkedCurrency(patch.currency, rules);
  if (patch.categoryId !== undefined) changes.categoryId = patch.categoryId;
  if (patch.tags !== undefined) changes.tags = patch.tags ?? [];
  if (patch.stock !== undefined) changes.stock = patch.stock;
  const { updated, changed } = await applyChanges(manager, row, changes);
  // A no-op write changed nothing, so it tells nobody anything either.
  if (changed.length > 0) await productUpdated(manager, updated, changed);
  return updated;
}

export async function deleteProduct(manager: EntityManager, id: string, ifMatch?: IfMatch): Promise<ProductRow> {
  const row = await lockProduct(manager, id);
  assertIfMatch(row.version, ifMatch);
  await manager.getRepository(ProductEntity).delete({ id });
  await productDeleted(manager, row);
  return row;
}

/** The row, locked until the transaction ends, so the precondition and the write see one version. */
async function lockProduct(manager: EntityManager, id: string): Promise<ProductRow> {
  const row = await manager.getRepository(ProductEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  if (!row) throw new AppError('CATALOG_PRODUCT_NOT_FOUND', `No product has the id ${id}`);
  return row;
}

type WritableFields = Pick<ProductRow, 'sku' | 'name' | 'description' | 'priceCents' | 'currency' | 'categoryId' | 'tags' | 'stock'>;

function writableFields(body: ProductWriteBody, rules: ProductRules): WritableFields {
  return {
    sku: body.sku,
    name: body.name.trim(),
    description: body.description ?? null,
    priceCents: body.priceCents,
    currency: checkedCurrency(body.currency ?? rules.currency, rules),
    categoryId: body.categoryId ?? null,
    tags: body.tags ?? [],
    stock: body.stock,
  };
}

function checkedCurrency(currency: string, rules: ProductRules): string {
  if (currency !== rules.currency) {
    throw new AppError('REQUEST_VALIDATION_FAILED', 'The body is not valid', {
      errors: [{ path: '/body/currency', message: `must be ${rules.currency}, the store's currency` }],
    });
  }
  return currency;
}

/** Saves only when something really changed: a no-op write keeps the version (and the ETag). */
async function applyChanges(
  manager: EntityManager,
  row: ProductRow,
  changes: Partial<WritableFields>,
): Promise<{ updated: ProductRow; changed: (keyof WritableFields)[] }> {
  const changed = (Object.keys(changes) as (keyof WritableFields)[]).filter((key) => !sameValue(row[key], changes[key]));
  if (changed.length === 0) return { updated: row, changed };
  return { updated: await saveTranslatingConflicts(manager, manager.getRepository(ProductEntity).merge(row, changes)), changed };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((value, index) => value === b[index]);
  return a === b;
}

async function saveTranslatingConflicts(manager: EntityManager, row: ProductRow): Promise<ProductRow> {
  try {
    return await manager.getRepository(ProductEntity).save(row);
  } catch (error) {
    if (isPgError(error, PgErrorCodes.UNIQUE_VIOLATION, 'products_sku_key')) {
      throw new AppError('CATALOG_SKU_TAKEN', `Another product already has the SKU ${row.sku}`);
    }
    if (isPgError(error, PgErrorCodes.FOREIGN_KEY_VIOLATION, 'products_category_id_fkey')) {
      throw new AppError('REQUEST_VALIDATION_FAILED', 'The body is not valid', {
        errors: [{ path: '/body/categoryId', message: 'no category has this id' }],
      });
    }
    throw error;
  }
}
