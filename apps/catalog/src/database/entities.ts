import { EntitySchema } from 'typeorm';
import type { ReservedLine, StockRejectionReason, StockRequestLine } from '@shop/contracts';

export interface CategoryRow {
  id: string;
  name: string;
  slug: string;
  description: string | null;
  /** Grows with every change; the ETag is made from it. Not part of the public representation. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ProductRow {
  id: string;
  sku: string;
  name: string;
  description: string | null;
  priceCents: number;
  currency: string;
  categoryId: string | null;
  tags: string[];
  stock: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type ReservationState = 'reserved' | 'released' | 'rejected';

export interface StockReservationRow {
  orderId: string;
  state: ReservationState;
  /** What is (or was) held when reserved; what was asked for when rejected; nothing for a release tombstone. */
  lines: ReservedLine[] | StockRequestLine[];
  /** The currency of the prices in `lines`, once reserved. */
  currency: string | null;
  rejectionReason: StockRejectionReason | null;
  /** The products that caused a rejection. */
  rejectedProductIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

const timestamp = (name: string) => ({ type: 'timestamptz', precision: 3, name }) as const;

export const CategoryEntity = new EntitySchema<CategoryRow>({
  name: 'Category',
  tableName: 'categories',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    name: { type: 'text' },
    slug: { type: 'text' },
    description: { type: 'text', nullable: true },
    version: { type: 'integer', version: true },
    createdAt: { ...timestamp('created_at'), createDate: true },
    updatedAt: { ...timestamp('updated_at'), updateDate: true },
  },
});

/** The generated `search` tsvector column is deliberately absent: only SQL reads it. */
export const ProductEntity = new EntitySchema<ProductRow>({
  name: 'Product',
  tableName: 'products',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    sku: { type: 'text' },
    name: { type: 'text' },
    description: { type: 'text', nullable: true },
    priceCents: { type: 'integer', name: 'price_cents' },
    currency: { type: 'text' },
    categoryId: { type: 'uuid', name: 'category_id', nullable: true },
    tags: { type: 'text', array: true },
    stock: { type: 'integer' },
    version: { type: 'integer', version: true },
    createdAt: { ...timestamp('created_at'), createDate: true },
    updatedAt: { ...timestamp('updated_at'), updateDate: true },
  },
});

export const StockReservationEntity = new EntitySchema<StockReservationRow>({
  name: 'StockReservation',
  tableName: 'stock_reservations',
  columns: {
    orderId: { type: 'uuid', primary: true, name: 'order_id' },
    state: { type: 'text' },
    lines: { type: 'jsonb' },
    currency: { type: 'text', nullable: true },
    rejectionReason: { type: 'text', name: 'rejection_reason', nullable: true },
    rejectedProductIds: { type: 'uuid', name: 'rejected_product_ids', array: true },
    createdAt: { ...timestamp('created_at'), createDate: true },
    updatedAt: { ...timestamp('updated_at'), updateDate: true },
  },
});
