import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { WORKSPACE_ROOT } from './support/manifest-files';

/**
 * docker-compose.yml, .env.example and the README's configuration table in step: every tunable the
 * README documents reaches the services that read it in compose, and every variable compose reads
 * from `.env` is in .env.example.
 */
interface ComposeService {
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: Record<string, unknown>;
  build?: { args?: Record<string, string> };
  volumes?: string[];
}
const composeText = readFileSync(join(WORKSPACE_ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
const envExample = readFileSync(join(WORKSPACE_ROOT, '.env.example'), 'utf8');
const readme = readFileSync(join(WORKSPACE_ROOT, 'README.md'), 'utf8');

const SERVICES = ['auth', 'catalog', 'orders', 'recommendations', 'gateway'];
/** Wiring that compose fixes itself: addresses, ports, URLs between containers, file paths inside them. */
const FIXED_BY_COMPOSE = new Set([
  'PORT',
  'HOST',
  'DATABASE_URL',
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'AUTH_JWKS_URL',
  'AUTH_URL',
  'CATALOG_URL',
  'ORDERS_URL',
  'RECOMMENDATIONS_URL',
  // Which hop may set X-Forwarded-For follows compose's own topology (the gateway's fixed address).
  'TRUST_PROXY',
  // The management port is wiring too: Prometheus's scrape targets name it.
  'METRICS_PORT',
  'METRICS_HOST',
  'EVENTS_CONSUMER_NAME',
  'JWT_PRIVATE_KEY_FILE',
  'JWT_PREVIOUS_PUBLIC_KEY_FILE',
  'JWT_DEV_KEY_FILE',
]);

/** The README's configuration table as (variable, services that read it). */
function documentedVariables(): { variable: string; services: string[] }[] {
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Development'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => {
      const [names = '', readers = ''] = line.split('|').slice(1, 3);
      const services = readers.includes('all') ? SERVICES : SERVICES.filter((service) => readers.includes(service));
      const verifiers = readers.includes('verifiers') ? ['catalog', 'orders', 'recommendations', 'gateway'] : [];
      return [...names.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map(([, variable]) => ({ variable: variable!, services: [...new Set([...services, ...verifiers])] }));
    });
}

t.test('every tunable of the README is handed to the services that read it', async (t) => {
  const documented = documentedVariables();
  t.ok(documented.length > 50, `the table was read (${documented.length} variables)`);
  for (const { variable, services } of documented) {
    if (FIXED_BY_COMPOSE.has(variable)) continue;
    t.ok(services.length > 0, `${variable} names its services`);
    for (const service of services) {
      const value = compose.services[service]?.environment?.[variable];
      t.ok(value !== undefined, `${service} gets ${variable}`);
      t.match(String(value), new RegExp(`^\\$\\{${variable}:-`), `${service}'s ${variable} comes from .env or the shell`);
    }
  }
});

t.test('every variable compose reads from .env is in .env.example', async (t) => {
  const read = new Set([...composeText.replace(/^\s*#.*$/gm, '').matchAll(/\$\{([A-Z][A-Z0-9_]*)(?::?-[^}]*)?\}/g)].map(([, variable]) => variable!));
  const listed = new Set([...envExample.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map(([, variable]) => variable!));
  t.ok(read.has('RATE_LIMIT_MAX') && read.has('LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS'), 'the limits are among them');
  t.same([...read].filter((variable) => !listed.has(variable)), [], 'none is missing from .env.example');
  t.same([...listed].filter((variable) => !read.has(variable)), [], '.env.example lists nothing compose ignores');
});

t.test('start-up: no service waits for another to be healthy, and auth keeps its dev key', async (t) => {
  for (const service of SERVICES) {
    const dependencies = compose.services[service]!.depends_on ?? {};
    t.same(
      Object.entries(dependencies).filter(([, { condition }]) => condition !== 'service_started'),
      [],
      `${service} starts with its dependencies, not after them`,
    );
    if (service !== 'gateway') t.ok(`${service}-db` in dependencies, `${service} starts with its own database`);
  }
  t.match(compose.services.auth!.environment, { JWT_DEV_KEY_FILE: /^\/var\/lib\/shop\// });
  t.ok(compose.services.auth!.volumes?.some((volume) => volume.endsWith(':/var/lib/shop')) && 'auth-dev-key' in compose.volumes, 'the dev key lives in a named volume');
  t.notMatch(composeText, /NPM_CA_CERT/, 'no build argument differs between shells');
});
