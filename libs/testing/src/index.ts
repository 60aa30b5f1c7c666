export { createTestDatabase, uniqueName, TEST_DATABASE_URL, TEST_REDIS_URL, type Teardown } from './test-database';
export { createTestRedisPrefix, deleteKeysWithPrefix } from './test-redis';
export { buildTestService, type BuildTestServiceOptions, type TestServiceEnv } from './build-test-service';
export { createTestTokenIssuer, TEST_ISSUER, TEST_AUDIENCE, type TestTokenIssuer } from './test-tokens';
export { eventually, probeUntil, waitFor } from './wait-for';
export { startPrivateRedis, type PrivateRedis } from './private-redis';
export { startKeepAliveLoad, type KeepAliveLoad, type KeepAliveLoadOptions, type LoadReport, type LoadRequest, type LoadResponse } from './keep-alive-load';
export { startNoopOtlpCollector, type NoopOtlpCollector } from './noop-otlp-collector';
export { parsePrometheusText, scrapeMetrics, MetricsScrape, type MetricSample } from './metrics';
