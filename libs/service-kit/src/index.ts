export { createService, BODY_LIMIT_BYTES, type ServiceInstance, type ServiceOptions } from './create-service';
export { runService, type Runnable } from './run-service';
export {
  registerOperations,
  routeSchemaOf,
  operationCoverage,
  isOutsideOperationTable,
  type AccessControl,
  type OperationCoverage,
  type OperationRoute,
  type OperationRoutes,
} from './operations';
export { loadConfig, ConfigError, BaseServiceConfigSchema, parseTrustProxy, type BaseServiceConfig } from './config';
export { AppError, isAppError } from './app-error';
export { buildProblem, sendProblem } from './problem';
export { problemErrorHandler } from './error-handler';
export { encodeCursor, decodeCursor, setNextLink, CursorTimestampSchema } from './pagination';
export { findUnstorableText, unstorableTextReason } from './storable-text';
export { installRedis } from './redis';
export { redactUrl } from './logger';
export { REQUEST_ID_HEADER } from './request-id';
export type { ReadinessCheck, ReadinessCheckOptions } from './health';
export {
  metricsConfigSchema,
  serveMetrics,
  scrapeTimeGauge,
  UNMATCHED_ROUTE,
  type MetricsConfig,
  type MetricsServer,
  type ServiceMetrics,
} from './metrics';
