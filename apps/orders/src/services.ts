import type { AccessTokenPolicy, AuthorizationFreshness } from '@shop/token-verifier';
import type { DataSource } from 'typeorm';
import type { OrdersConfig } from './config';
import type { OrderChangeFeed } from './domain/order-feed';
import type { OrdersMetrics } from './observability/metrics';

/** What orders' routes work with, built once in `buildApp` and handed to each route plugin. */
export interface OrdersServices {
  config: OrdersConfig;
  db: DataSource;
  feed: OrderChangeFeed;
  /** How tokens are verified: also used for the WebSocket's `access_token` query parameter. */
  tokenPolicy: AccessTokenPolicy;
  metrics: OrdersMetrics;
  /** The owner's current rights behind a token: checked per request, and every second for open WebSockets. */
  freshness: AuthorizationFreshness;
}
