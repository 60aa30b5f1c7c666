import type { OrderStatus } from '@shop/contracts';
import { EntitySchema } from 'typeorm';

export interface OrderRow {
  id: string;
  userId: string;
  status: OrderStatus;
  totalCents: number | null;
  currency: string;
  rejectionReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface OrderItemRow {
  orderId: string;
  productId: string;
  /** The line's place in the order as the client sent it. */
  position: number;
  quantity: number;
  sku: string | null;
  name: string | null;
  unitPriceCents: number | null;
}

const timestamp = (name: string) => ({ type: 'timestamptz', precision: 3, name }) as const;

export const OrderEntity = new EntitySchema<OrderRow>({
  name: 'Order',
  tableName: 'orders',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    userId: { type: 'uuid', name: 'user_id' },
    status: { type: 'text' },
    totalCents: { type: 'bigint', name: 'total_cents', nullable: true, transformer: { to: (value) => value, from: (value) => (value === null ? null : Number(value)) } },
    currency: { type: 'text' },
    rejectionReason: { type: 'text', name: 'rejection_reason', nullable: true },
    createdAt: { ...timestamp('created_at'), createDate: true },
    updatedAt: { ...timestamp('updated_at'), updateDate: true },
  },
});

export const OrderItemEntity = new EntitySchema<OrderItemRow>({
  name: 'OrderItem',
  tableName: 'order_items',
  columns: {
    orderId: { type: 'uuid', name: 'order_id', primary: true },
    productId: { type: 'uuid', name: 'product_id', primary: true },
    position: { type: 'int' },
    quantity: { type: 'int' },
    sku: { type: 'text', nullable: true },
    name: { type: 'text', nullable: true },
    unitPriceCents: { type: 'int', name: 'unit_price_cents', nullable: true },
  },
});
