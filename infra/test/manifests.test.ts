import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import { validationErrors } from './support/kubernetes-validation';
import {
  allKustomizations,
  isExampleFile,
  isKustomizationFile,
  K8S_ROOT,
  type KubeObject,
  kustomizationProblems,
  patchFiles,
  patchTargetProblems,
  readKustomization,
  readYamlDocuments,
  sourceObjectsOf,
  unreferencedFiles,
  WORKSPACE_ROOT,
  yamlFilesUnder,
} from './support/manifest-files';
import { isSecretVariable, policyViolations, SERVICE_PORTS, shopServices } from './support/policies';

const BASE = join(K8S_ROOT, 'base');
const services = shopServices();
const kustomizations = allKustomizations();
const patches = patchFiles(kustomizations);

t.test('every YAML document under infra/k8s is a valid Kubernetes object', async (t) => {
  const files = yamlFilesUnder(K8S_ROOT).filter((file) => !isKustomizationFile(file));
  t.ok(files.length > 20, `found ${files.length} manifest files`);
  for (const file of files) {
    const documents = readYamlDocuments(file);
    t.ok(documents.length > 0, `${relative(K8S_ROOT, file)} holds at least one document`);
    for (const { file: shown, index, content } of documents) {
      if (patches.has(file)) {
        // A patch is a partial object: it only needs to say what it patches.
        const object = content as KubeObject;
        t.ok(typeof object.apiVersion === 'string' && typeof object.kind === 'string' && typeof object.metadata?.name === 'string', `${shown} names the object it patches`);
      } else {
        t.same(validationErrors(content), [], `${shown} (document ${index + 1}) ${String((content as KubeObject).kind)}/${String((content as KubeObject).metadata?.name)}`);
      }
    }
  }
});

t.test('every kustomization builds from files that exist, and every manifest is used by one', async (t) => {
  t.ok(kustomizations.length >= 12, `found ${kustomizations.length} kustomizations`);
  for (const kustomization of kustomizations) {
    const shown = relative(K8S_ROOT, kustomization.file);
    t.same(kustomizationProblems(kustomization), [], `${shown}: references`);
    t.same(patchTargetProblems(kustomization), [], `${shown}: patch targets`);
  }
  t.same(unreferencedFiles(kustomizations), [], 'no manifest is left out of its kustomization');
});

t.test('the base has one directory per service, each listed, labelled and deployable on its own', async (t) => {
  // A service is an app the image runs: one with a src/main.ts (end-to-end suites are apps too, without one).
  const apps = readdirSync(join(WORKSPACE_ROOT, 'apps'))
    .filter((app) => existsSync(join(WORKSPACE_ROOT, 'apps', app, 'src', 'main.ts')))
    .sort();
  t.same(apps, Object.keys(SERVICE_PORTS).sort(), 'every service has a port in the policies (and only services do)');
  const base = readKustomization(join(BASE, 'kustomization.yaml'));
  t.same([...base.resources].sort(), apps, 'base/kustomization.yaml lists every service');
  t.ok(base.components.length > 0, 'base/kustomization.yaml applies the common labels');
  for (const service of services) {
    t.same(policyViolations(sourceObjectsOf(join(BASE, service.name)), [service]), [], `base/${service.name} alone meets every policy`);
  }
});

t.test('the base meets every policy', async (t) => {
  const objects = sourceObjectsOf(BASE);
  t.same(policyViolations(objects, services), []);
  t.same(
    services.filter((service) => service.database).map((service) => service.name),
    ['auth', 'catalog', 'orders', 'recommendations'],
    'the services with a database are the ones with a migrate script',
  );
  for (const service of services.filter((candidate) => candidate.seed)) {
    const seeds = (objects as unknown as IJob[]).filter(
      (object) => object.kind === 'Job' && object.spec?.template.spec?.containers.some((container) => container.command?.includes('dist/seed.js')),
    );
    t.equal(seeds.length, 1, `${service.name} has a seed Job`);
  }
});

t.test('secrets: only examples, never deployed, covering every key the pods require', async (t) => {
  const examples = yamlFilesUnder(K8S_ROOT).filter(isExampleFile);
  const exampleSecrets = examples.flatMap((file) => readYamlDocuments(file).map((document) => document.content as ISecret));
  t.ok(exampleSecrets.length >= 3, 'an example per service with secrets');
  for (const secret of exampleSecrets) {
    t.equal(secret.kind, 'Secret', `${secret.metadata?.name}: an example file holds only Secrets`);
    for (const [key, value] of Object.entries(secret.stringData ?? {})) {
      if (isSecretVariable(key)) t.match(value, /REPLACE_ME/, `${secret.metadata?.name}: ${key} is a placeholder, not a value`);
    }
    t.notOk(secret.data, `${secret.metadata?.name}: no base64 data, which would hide a real value`);
  }
  const required = new Map<string, Set<string>>();
  for (const object of sourceObjectsOf(BASE)) {
    const spec = (object as unknown as IDeployment).spec?.template?.spec;
    for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
      for (const env of container.env ?? []) {
        const ref = env.valueFrom?.secretKeyRef;
        if (ref && ref.optional !== true) required.set(ref.name!, (required.get(ref.name!) ?? new Set()).add(ref.key));
      }
    }
  }
  t.same([...required.keys()].sort(), ['auth-secrets', 'catalog-secrets', 'orders-secrets', 'recommendations-secrets']);
  for (const [name, keys] of required) {
    const example = exampleSecrets.find((secret) => secret.metadata?.name === name);
    t.ok(example, `${name} has an example`);
    for (const key of keys) t.ok(example?.stringData?.[key] !== undefined, `${name}.example shows ${key}`);
  }
});

/** The base, with one thing broken: each policy must notice. */
function violationsAfter(break_: (objects: KubeObject[]) => void): string[] {
  const objects = structuredClone(sourceObjectsOf(BASE));
  break_(objects);
  return policyViolations(objects, services);
}

function find<T>(objects: KubeObject[], kind: string, name: string): T {
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  if (!found) throw new Error(`${kind}/${name} is not in the base`);
  return found as unknown as T;
}

const deploymentOf = (objects: KubeObject[], name: string) => find<IDeployment>(objects, 'Deployment', name);
const appContainer = (objects: KubeObject[], name: string) =>
  deploymentOf(objects, name).spec!.template.spec!.containers.find((container) => container.name === name)!;

t.test('the policies reject a broken manifest', async (t) => {
  const cases: [string, (objects: KubeObject[]) => void, RegExp][] = [
    ['readiness on /health', (o) => void (appContainer(o, 'auth').readinessProbe!.httpGet!.path = '/health'), /Deployment\/auth: the readiness probe gets \/health, not \/health\/ready/],
    ['no liveness probe', (o) => void delete appContainer(o, 'catalog').livenessProbe, /Deployment\/catalog: no liveness probe/],
    ['no startup probe', (o) => void delete appContainer(o, 'gateway').startupProbe, /Deployment\/gateway: no startup probe/],
    ['no memory limit', (o) => void delete appContainer(o, 'orders').resources!.limits!.memory, /Deployment\/orders container orders: no resources\.limits\.memory/],
    ['no requests in an init container', (o) => void delete deploymentOf(o, 'auth').spec!.template.spec!.initContainers![0]!.resources, /Deployment\/auth container migrate: no resources\.requests\.cpu/],
    ['root allowed', (o) => void (deploymentOf(o, 'gateway').spec!.template.spec!.securityContext!.runAsNonRoot = false), /Deployment\/gateway container gateway: runAsNonRoot is not set/],
    ['writable root filesystem', (o) => void (appContainer(o, 'auth').securityContext!.readOnlyRootFilesystem = false), /readOnlyRootFilesystem must be true/],
    ['a password in plain text', (o) => void appContainer(o, 'auth').env!.push({ name: 'ADMIN_PASSWORD', value: 'hunter2hunter2' }), /ADMIN_PASSWORD is written in the manifest/],
    ['DATABASE_URL as a value', (o) => void (appContainer(o, 'orders').env = [{ name: 'DATABASE_URL', value: 'postgres://orders:pw@db/orders' }]), /Deployment\/orders container orders: DATABASE_URL is written in the manifest/],
    ['a password in a ConfigMap URL', (o) => void (find<{ data: Record<string, string> }>(o, 'ConfigMap', 'gateway-config').data.REDIS_URL = 'redis://:pw@redis:6379'), /ConfigMap\/gateway-config: REDIS_URL holds a URL with a password/],
    ['a Secret among the resources', (o) => void o.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'auth-secrets' }, stringData: { JWT_PRIVATE_KEY: 'x' } }), /Secret\/auth-secrets: secrets are created out of band/],
    ['no migration Job', (o) => void o.splice(o.indexOf(find(o, 'Job', 'orders-migrate')), 1), /orders: has a database but no migration Job/],
    ['a migration Job on another database', (o) => void (find<IJob>(o, 'Job', 'catalog-migrate').spec!.template.spec!.containers[0]!.env![0]!.valueFrom!.secretKeyRef!.name = 'auth-secrets'), /Job\/catalog-migrate: DATABASE_URL comes from auth-secrets\/DATABASE_URL, not the service's catalog-secrets\/DATABASE_URL/],
    ['a seed on another database', (o) => void (find<IJob>(o, 'Job', 'catalog-seed').spec!.template.spec!.containers[0]!.env![0]!.valueFrom!.secretKeyRef!.name = 'orders-secrets'), /Job\/catalog-seed container seed: DATABASE_URL comes from orders-secrets\/DATABASE_URL, not the service's catalog-secrets\/DATABASE_URL/],
    ['no migrate init container', (o) => void delete deploymentOf(o, 'catalog').spec!.template.spec!.initContainers, /Deployment\/catalog: no init container running dist\/migrate\.js/],
    ['another image', (o) => void (appContainer(o, 'orders').image = 'shop/catalog'), /Deployment\/orders: image shop\/catalog is not shop\/orders/],
    ['a wrong port', (o) => void (appContainer(o, 'catalog').ports![0]!.containerPort = 3000), /Deployment\/catalog: no container port named http on 3002/],
    ['a wrong Service port', (o) => void (find<IService>(o, 'Service', 'gateway').spec!.ports![0]!.port = 80), /Service\/gateway: does not expose port 8080/],
    ['a wrong PORT', (o) => void (find<{ data: Record<string, string> }>(o, 'ConfigMap', 'auth-config').data.PORT = '3000'), /ConfigMap\/auth-config: PORT 3000 is not 3001/],
    ['a Service that also selects the migration pods', (o) => void delete find<IService>(o, 'Service', 'auth').spec!.selector!['app.kubernetes.io/component'], /Service\/auth: its selector also matches the pods of Job\/auth-migrate/],
    ['a LoadBalancer', (o) => void (find<IService>(o, 'Service', 'gateway').spec!.type = 'LoadBalancer'), /Service\/gateway: type LoadBalancer, not ClusterIP/],
    ['replicas next to an HPA', (o) => void (deploymentOf(o, 'gateway').spec!.replicas = 2), /Deployment\/gateway: sets replicas/],
    ['no HPA', (o) => void o.splice(o.indexOf(find(o, 'HorizontalPodAutoscaler', 'catalog')), 1), /Deployment\/catalog: no HorizontalPodAutoscaler/],
    ['a database for the gateway', (o) => void (appContainer(o, 'gateway').env ??= []).push({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'x', key: 'y' } } }), /gateway has no database, yet gets a DATABASE_URL/],
    ['the gateway ready only when every upstream is', (o) => void (appContainer(o, 'gateway').readinessProbe!.httpGet!.path = '/health/ready'), /Deployment\/gateway: the readiness probe gets \/health\/ready, not \/health/],
    ['no metrics port', (o) => void appContainer(o, 'orders').ports!.splice(1, 1), /Deployment\/orders: no container port named metrics on 9103/],
    ['no scrape annotation', (o) => void delete deploymentOf(o, 'catalog').spec!.template.metadata!.annotations!['prometheus.io/scrape'], /Deployment\/catalog: pods are not annotated prometheus\.io\/scrape/],
    ['scraping the service port', (o) => void (deploymentOf(o, 'auth').spec!.template.metadata!.annotations!['prometheus.io/port'] = '3001'), /Deployment\/auth: prometheus\.io\/port is 3001, not 9101/],
    ['a wrong METRICS_PORT', (o) => void (find<{ data: Record<string, string> }>(o, 'ConfigMap', 'gateway-config').data.METRICS_PORT = '9999'), /ConfigMap\/gateway-config: METRICS_PORT 9999 is not 9100/],
    ['metrics closed to Prometheus', (o) => void find<{ spec: { ingress: unknown[] } }>(o, 'NetworkPolicy', 'catalog').spec.ingress.splice(-1, 1), /NetworkPolicy\/catalog: Prometheus cannot reach the metrics port/],
    ['a missing service', (o) => void o.splice(o.indexOf(find(o, 'Deployment', 'orders')), 1), /orders: no Deployment named orders/],
  ];
  for (const [name, break_, expected] of cases) {
    t.test(name, async (t) => {
      const violations = violationsAfter(break_);
      t.ok(violations.some((violation) => expected.test(violation)), `reported: ${violations.join(' | ') || 'nothing'}`);
    });
  }
});

t.test('validation rejects an object Kubernetes would refuse', async (t) => {
  const deployment = structuredClone(find<IDeployment>(sourceObjectsOf(BASE), 'Deployment', 'auth'));
  (deployment.spec!.template.spec!.containers[0]!.ports![0] as { containerPort: unknown }).containerPort = '3001';
  t.match(validationErrors(deployment).join(), /containerPort must be integer/);

  const job = structuredClone(find<IJob>(sourceObjectsOf(BASE), 'Job', 'auth-migrate'));
  delete (job.spec!.template.spec!.containers[0] as { name?: string }).name;
  t.match(validationErrors(job).join(), /containers\/0 must have required property name/);

  t.match(validationErrors({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x' } }), [/no model for apps\/v1 StatefulSet/]);
  t.match(validationErrors({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_A_Name' } }), [/metadata\.name "Not_A_Name" is not a valid name/]);
  t.match(validationErrors('kind: Deployment'), [/not a Kubernetes object/]);
});

t.test('kustomization checks catch references that would break a build', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'infra-kustomization-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'empty-dir'));
  writeFileSync(join(root, 'configmap.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: present\n');
  writeFileSync(join(root, 'forgotten.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: forgotten\n');
  writeFileSync(join(root, 'app-secrets.example.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-secrets\n');
  writeFileSync(join(root, 'patch.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: absent\ndata:\n  A: b\n');
  writeFileSync(
    join(root, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'commonLabels: { app: x }',
      'resources: [configmap.yaml, missing.yaml, empty-dir, app-secrets.example.yaml]',
      'patches:',
      '  - path: patch.yaml',
      '  - path: missing-patch.yaml',
      '  - patch: "[]"',
      '  - target: { kind: Deployment }',
      '    patch: "[]"',
    ].join('\n'),
  );
  const kustomization = readKustomization(join(root, 'kustomization.yaml'));
  const problems = kustomizationProblems(kustomization).join('\n');
  t.match(problems, /resources missing\.yaml does not exist/);
  t.match(problems, /resources empty-dir is a directory without a kustomization\.yaml/);
  t.match(problems, /app-secrets\.example\.yaml is an example and must never be deployed/);
  t.match(problems, /patches missing-patch\.yaml does not exist/);
  t.match(problems, /patches\[2\] is inline without a target/);
  t.match(problems, /commonLabels is deprecated/);
  t.notMatch(problems, /configmap\.yaml/, 'an existing resource is fine');
  const targets = patchTargetProblems(kustomization).join('\n');
  t.match(targets, /patch patch\.yaml targets ConfigMap\/absent, which the build does not contain/);
  t.match(targets, /inline patch targets Deployment\/\*, which the build does not contain/);
  t.same(unreferencedFiles([kustomization], root), ['forgotten.yaml'], 'a manifest nobody lists is reported; examples are not');
});
