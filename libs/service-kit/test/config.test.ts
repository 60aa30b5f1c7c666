import { Type } from '@sinclair/typebox';
import t from 'tap';
import { BaseServiceConfigSchema, ConfigError, loadConfig, parseTrustProxy } from '../src/index';

const AppConfigSchema = Type.Composite([
  BaseServiceConfigSchema,
  Type.Object({
    PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3999 }),
    FEATURE_ENABLED: Type.Boolean({ default: false }),
    API_SECRET: Type.String({ minLength: 32 }),
    ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 12 })),
  }),
]);

const VALID_ENV = {
  DATABASE_URL: 'postgres://svc@127.0.0.1:5432/svc',
  API_SECRET: 's'.repeat(32),
};

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

t.test('converts strings to the schema types and applies defaults', async (t) => {
  const config = loadConfig(AppConfigSchema, { ...VALID_ENV, PORT: '8080', FEATURE_ENABLED: 'true', SHUTDOWN_GRACE_MS: '2500', LOG_LEVEL: 'debug' });
  t.same(config, {
    HOST: '0.0.0.0',
    LOG_LEVEL: 'debug',
    DATABASE_URL: 'postgres://svc@127.0.0.1:5432/svc',
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: '',
    TRUST_PROXY: 'false',
    SHUTDOWN_GRACE_MS: 2500,
    PORT: 8080,
    FEATURE_ENABLED: true,
    API_SECRET: 's'.repeat(32),
  });
  t.equal(typeof config.PORT, 'number');

  const defaults = loadConfig(AppConfigSchema, { ...VALID_ENV, PORT: '', UNRELATED: 'ignored' });
  t.equal(defaults.PORT, 3999, 'an empty variable is an unset one');
  t.equal(defaults.LOG_LEVEL, 'info');
  t.equal(defaults.SHUTDOWN_GRACE_MS, 10_000);
  t.equal(defaults.FEATURE_ENABLED, false);
  t.notOk('UNRELATED' in defaults, 'only the schema’s variables are read');
  t.notOk('ADMIN_PASSWORD' in defaults);
});

t.test('one ConfigError names every missing or bad variable', async (t) => {
  const error = configErrorOf(() =>
    loadConfig(AppConfigSchema, {
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      REDIS_URL: 'http://127.0.0.1:6379',
      SHUTDOWN_GRACE_MS: '-5',
      FEATURE_ENABLED: 'maybe',
    }),
  );
  t.equal(error.name, 'ConfigError');
  const named = (variable: string) => error.problems.filter((problem) => problem.startsWith(`${variable} `));
  for (const variable of ['PORT', 'LOG_LEVEL', 'REDIS_URL', 'SHUTDOWN_GRACE_MS', 'FEATURE_ENABLED', 'DATABASE_URL', 'API_SECRET']) {
    t.equal(named(variable).length, 1, `${variable} is named exactly once`);
    t.match(error.message, new RegExp(`^  - ${variable} `, 'm'), `${variable} is in the message`);
  }
  t.equal(error.problems.length, 7, 'and nothing else');
  t.match(named('DATABASE_URL')[0], /is required/);
  t.match(named('API_SECRET')[0], /is required/);
  t.match(named('PORT')[0], /got "eighty"/, 'a bad value is shown, so the operator sees what was read');
  t.match(named('LOG_LEVEL')[0], /got "loud"/);
});

t.test("secrets' values are never echoed", async (t) => {
  const error = configErrorOf(() =>
    loadConfig(AppConfigSchema, {
      DATABASE_URL: 'mysql://svc:hunter2-db-password@db/svc',
      REDIS_URL: 'http://default:hunter2-redis-password@cache:6379',
      API_SECRET: 'hunter2-too-short',
      ADMIN_PASSWORD: 'hunter2',
    }),
  );
  t.equal(error.problems.length, 4, error.message);
  t.notMatch(error.message, /hunter2/, 'no secret, password or credential inside a URL');
  t.match(error.message, /API_SECRET .*\[redacted\]/);
  t.match(error.message, /DATABASE_URL .*mysql:\/\/svc:\[redacted\]@db\/svc/, 'the rest of a URL still helps the operator');
});

t.test('parseTrustProxy', async (t) => {
  t.equal(parseTrustProxy('true'), true);
  t.equal(parseTrustProxy('false'), false);
  t.equal(parseTrustProxy('10.0.0.0/8,127.0.0.1'), '10.0.0.0/8,127.0.0.1');
});
