import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import { type KubeObject, WORKSPACE_ROOT } from './manifest-files';

export interface ShopService {
  name: string;
  port: number;
  /** Owns a PostgreSQL database: needs DATABASE_URL from a Secret and a migration Job. */
  database: boolean;
  /** Ships a one-shot seed (`dist/seed.js`). */
  seed: boolean;
}

/** The listening ports of the README's configuration table. */
export const SERVICE_PORTS: Record<string, number> = { auth: 3001, catalog: 3002, orders: 3003, recommendations: 3004, gateway: 8080 };
/** The management ports (`/metrics`), likewise. */
export const METRICS_PORTS: Record<string, number> = { gateway: 9100, auth: 9101, catalog: 9102, orders: 9103, recommendations: 9104 };
/**
 * What readiness probes: a service's own hard dependencies. The gateway has none (its /health/ready,
 * every upstream ready, is the contract's status page; as a probe it would take every gateway pod
 * out of rotation when one service is down), so its readiness is /health, 503 once it is closing.
 */
const READINESS_PATHS: Record<string, string> = { gateway: '/health' };

/** Which service has a database is read from the apps themselves: a service has one exactly when it has a migrate script. */
export function shopServices(): ShopService[] {
  return Object.entries(SERVICE_PORTS).map(([name, port]) => ({
    name,
    port,
    database: existsSync(join(WORKSPACE_ROOT, 'apps', name, 'src', 'migrate.ts')),
    seed: existsSync(join(WORKSPACE_ROOT, 'apps', name, 'src', 'seed.ts')),
  }));
}

/** Variables whose value is a credential: only ever from a Secret, never written in a manifest. */
export const SECRET_VARIABLES = ['DATABASE_URL', 'ADMIN_PASSWORD', 'JWT_PRIVATE_KEY'];

export function isSecretVariable(name: string): boolean {
  return SECRET_VARIABLES.includes(name) || /PASSWORD|PRIVATE_KEY|SECRET/i.test(name);
}

const CREDENTIALS_IN_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]*:[^/?#@\s]+@/i;

/** `registry.example.com:5000/shop/auth:1.2@sha256:…` → `registry.example.com:5000/shop/auth`. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const lastColon = withoutDigest.lastIndexOf(':');
  return lastColon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, lastColon) : withoutDigest;
}

export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0]!;
  const lastColon = withoutDigest.lastIndexOf(':');
  return lastColon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(lastColon + 1) : undefined;
}

/** The service's image, from this repository's Dockerfile, under any registry. */
export function isImageOf(image: string | undefined, service: string): boolean {
  if (image === undefined) return false;
  const repository = imageRepository(image);
  return repository === `shop/${service}` || repository.endsWith(`/shop/${service}`);
}

export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

interface PodOwner {
  ref: string;
  kind: 'Deployment' | 'Job';
  labels: Record<string, string>;
  spec: IPodSpec;
}

function ofKind<T>(objects: KubeObject[], kind: string): T[] {
  return objects.filter((object) => object.kind === kind) as unknown as T[];
}

function named<T extends { metadata?: { name?: string } }>(list: T[], name: string): T | undefined {
  return list.find((item) => item.metadata?.name === name);
}

function podOwners(objects: KubeObject[]): PodOwner[] {
  const deployments = ofKind<IDeployment>(objects, 'Deployment').map((deployment) => ({
    ref: `Deployment/${deployment.metadata?.name}`,
    kind: 'Deployment' as const,
    labels: deployment.spec?.template.metadata?.labels ?? {},
    spec: deployment.spec?.template.spec ?? { containers: [] },
  }));
  const jobs = ofKind<IJob>(objects, 'Job').map((job) => ({
    ref: `Job/${job.metadata?.name}`,
    kind: 'Job' as const,
    labels: job.spec?.template.metadata?.labels ?? {},
    spec: job.spec?.template.spec ?? { containers: [] },
  }));
  return [...deployments, ...jobs];
}

function allContainers(spec: IPodSpec): IContainer[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

function runs(container: IContainer, script: string): boolean {
  return [...(container.command ?? []), ...(container.args ?? [])].includes(script);
}

function secretRefOf(container: IContainer | undefined, variable: string): string | undefined {
  const ref = container?.env?.find((env) => env.name === variable)?.valueFrom?.secretKeyRef;
  return ref ? `${ref.name}/${ref.key}` : undefined;
}

function probePathProblems(ref: string, kind: string, probe: IProbe | undefined, path: string, port: number): string[] {
  if (!probe) return [`${ref}: no ${kind} probe`];
  const httpGet = probe.httpGet;
  if (!httpGet) return [`${ref}: the ${kind} probe must be an HTTP GET of ${path}`];
  const problems: string[] = [];
  if (httpGet.path !== path) problems.push(`${ref}: the ${kind} probe gets ${httpGet.path ?? '/'}, not ${path}`);
  if (httpGet.port !== 'http' && httpGet.port !== port) problems.push(`${ref}: the ${kind} probe targets port ${httpGet.port}, not http (${port})`);
  return problems;
}

/**
 * The management port: declared on the container, announced to Prometheus by the pod annotations,
 * set as METRICS_PORT in the ConfigMap, and, where a NetworkPolicy closes ingress, opened to it.
 */
function metricsProblems(ref: string, name: string, container: IContainer, annotations: Record<string, string>, objects: KubeObject[]): string[] {
  const port = METRICS_PORTS[name];
  if (port === undefined) return [`${ref}: no management port known for ${name} (METRICS_PORTS)`];
  const problems: string[] = [];
  if (!container.ports?.some((candidate) => candidate.name === 'metrics' && candidate.containerPort === port)) problems.push(`${ref}: no container port named metrics on ${port}`);
  if (annotations['prometheus.io/scrape'] !== 'true') problems.push(`${ref}: pods are not annotated prometheus.io/scrape: "true"`);
  if (annotations['prometheus.io/port'] !== String(port)) problems.push(`${ref}: prometheus.io/port is ${annotations['prometheus.io/port']}, not ${port}`);
  if (annotations['prometheus.io/path'] !== '/metrics') problems.push(`${ref}: prometheus.io/path is not /metrics`);
  const configMaps = ofKind<IConfigMap>(objects, 'ConfigMap');
  for (const source of container.envFrom ?? []) {
    const configMap = named(configMaps, source.configMapRef?.name ?? '');
    const value = configMap?.data?.METRICS_PORT;
    if (configMap && value !== undefined && value !== String(port)) problems.push(`ConfigMap/${configMap.metadata?.name}: METRICS_PORT ${value} is not ${port}`);
  }
  const policy = named(ofKind<INetworkPolicy>(objects, 'NetworkPolicy'), name);
  const admitsMetrics = policy?.spec?.ingress?.some((rule) => rule.ports?.some((candidate) => candidate.port === 'metrics' || candidate.port === port));
  if (policy && !admitsMetrics) problems.push(`NetworkPolicy/${name}: Prometheus cannot reach the metrics port`);
  return problems;
}

/** Requests and limits, least privilege, read-only root: for every container, init containers and Jobs included. */
function containerProblems(owner: PodOwner, container: IContainer, podRunsAsNonRoot: boolean): string[] {
  const ref = `${owner.ref} container ${container.name}`;
  const problems: string[] = [];
  const { requests, limits } = container.resources ?? {};
  for (const [name, quantities] of [['requests', requests], ['limits', limits]] as const) {
    for (const resource of ['cpu', 'memory']) {
      if (quantities?.[resource] === undefined) problems.push(`${ref}: no resources.${name}.${resource}`);
    }
  }
  const security = container.securityContext ?? {};
  if (!podRunsAsNonRoot && security.runAsNonRoot !== true) problems.push(`${ref}: runAsNonRoot is not set (pod or container)`);
  if (security.runAsUser === 0) problems.push(`${ref}: runs as root (runAsUser 0)`);
  if (security.allowPrivilegeEscalation !== false) problems.push(`${ref}: allowPrivilegeEscalation must be false`);
  if (security.privileged === true) problems.push(`${ref}: privileged`);
  if (security.readOnlyRootFilesystem !== true) problems.push(`${ref}: readOnlyRootFilesystem must be true`);
  if (!security.capabilities?.drop?.includes('ALL')) problems.push(`${ref}: capabilities must drop ALL`);
  for (const env of container.env ?? []) problems.push(...envProblems(ref, env));
  if (!owner.labels['app.kubernetes.io/name'] || !isImageOf(container.image, owner.labels['app.kubernetes.io/name'])) {
    problems.push(`${ref}: image ${container.image} is not shop/${owner.labels['app.kubernetes.io/name'] ?? '<app.kubernetes.io/name>'}`);
  }
  return problems;
}

function envProblems(ref: string, env: IEnvVar): string[] {
  if (isSecretVariable(env.name)) {
    if (env.value !== undefined) return [`${ref}: ${env.name} is written in the manifest; it must come from a Secret (secretKeyRef)`];
    if (!env.valueFrom?.secretKeyRef) return [`${ref}: ${env.name} must come from a Secret (secretKeyRef)`];
  } else if (env.value !== undefined && CREDENTIALS_IN_URL.test(env.value)) {
    return [`${ref}: ${env.name} holds a URL with a password; it must come from a Secret`];
  }
  return [];
}

function podProblems(owner: PodOwner): string[] {
  const problems: string[] = [];
  const security = owner.spec.securityContext ?? {};
  if (security.runAsUser === 0) problems.push(`${owner.ref}: the pod runs as root (runAsUser 0)`);
  if (owner.spec.hostNetwork || owner.spec.hostPID || owner.spec.hostIPC) problems.push(`${owner.ref}: shares a host namespace`);
  for (const container of allContainers(owner.spec)) problems.push(...containerProblems(owner, container, security.runAsNonRoot === true));
  if (owner.kind === 'Job') {
    if (owner.spec.restartPolicy !== 'Never' && owner.spec.restartPolicy !== 'OnFailure') {
      problems.push(`${owner.ref}: restartPolicy must be Never or OnFailure`);
    }
    if (owner.labels['app.kubernetes.io/component'] === 'server') {
      problems.push(`${owner.ref}: its pods are labelled component=server, like the service's: they would join its Service and PodDisruptionBudget`);
    }
  }
  return problems;
}

function serviceProblems(service: ShopService, objects: KubeObject[], owners: PodOwner[]): string[] {
  const problems: string[] = [];
  const deployment = named(ofKind<IDeployment>(objects, 'Deployment'), service.name);
  if (!deployment) return [`${service.name}: no Deployment named ${service.name}`];
  const ref = `Deployment/${service.name}`;
  const podLabels = deployment.spec?.template.metadata?.labels ?? {};
  const pod = deployment.spec?.template.spec ?? { containers: [] };
  const jobOwners = owners.filter((owner) => owner.kind === 'Job');

  if (deployment.spec?.replicas !== undefined) {
    problems.push(`${ref}: sets replicas, which its HorizontalPodAutoscaler owns (every apply would reset the count)`);
  }
  if (podLabels['app.kubernetes.io/name'] !== service.name) problems.push(`${ref}: pods are not labelled app.kubernetes.io/name=${service.name}`);

  const container = pod.containers.find((candidate) => candidate.name === service.name);
  if (!container) {
    problems.push(`${ref}: no container named ${service.name}`);
  } else {
    if (!isImageOf(container.image, service.name)) problems.push(`${ref}: image ${container.image} is not shop/${service.name}`);
    if (!container.ports?.some((port) => port.name === 'http' && port.containerPort === service.port)) {
      problems.push(`${ref}: no container port named http on ${service.port}`);
    }
    problems.push(
      ...probePathProblems(ref, 'readiness', container.readinessProbe, READINESS_PATHS[service.name] ?? '/health/ready', service.port),
      ...probePathProblems(ref, 'liveness', container.livenessProbe, '/health', service.port),
    );
    if (!container.startupProbe) problems.push(`${ref}: no startup probe (a slow start would be killed by the liveness probe)`);
    problems.push(...metricsProblems(ref, service.name, container, deployment.spec?.template.metadata?.annotations ?? {}, objects));

    const configMapNames = (container.envFrom ?? []).flatMap((source) => (source.configMapRef ? [source.configMapRef.name] : []));
    if (configMapNames.length === 0) problems.push(`${ref}: takes no environment from a ConfigMap`);
    const configMaps = ofKind<IConfigMap>(objects, 'ConfigMap');
    for (const name of configMapNames) {
      const configMap = named(configMaps, name ?? '');
      if (!configMap) problems.push(`${ref}: ConfigMap ${name} is not part of the build`);
      else if (configMap.data?.PORT !== undefined && configMap.data.PORT !== String(service.port)) {
        problems.push(`ConfigMap/${name}: PORT ${configMap.data.PORT} is not ${service.port}`);
      }
    }
    const portVariable = container.env?.find((env) => env.name === 'PORT')?.value;
    if (portVariable !== undefined && portVariable !== String(service.port)) problems.push(`${ref}: PORT ${portVariable} is not ${service.port}`);
  }

  const hpa = ofKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler').find(
    (candidate) => candidate.spec?.scaleTargetRef.kind === 'Deployment' && candidate.spec.scaleTargetRef.name === service.name,
  );
  if (!hpa) {
    problems.push(`${ref}: no HorizontalPodAutoscaler`);
  } else {
    const { minReplicas = 1, maxReplicas } = hpa.spec!;
    if (hpa.apiVersion !== 'autoscaling/v2') problems.push(`HorizontalPodAutoscaler/${hpa.metadata?.name}: not autoscaling/v2`);
    if (!hpa.spec?.metrics?.some((metric) => metric.type === 'Resource' && metric.resource?.name === 'cpu')) {
      problems.push(`HorizontalPodAutoscaler/${hpa.metadata?.name}: does not scale on CPU`);
    }
    if (minReplicas < 1 || minReplicas > maxReplicas) problems.push(`HorizontalPodAutoscaler/${hpa.metadata?.name}: minReplicas ${minReplicas} > maxReplicas ${maxReplicas}`);
  }

  const kubeService = named(ofKind<IService>(objects, 'Service'), service.name);
  if (!kubeService) {
    problems.push(`${service.name}: no Service named ${service.name} (the other services and the gateway call it by that name)`);
  } else {
    const serviceRef = `Service/${service.name}`;
    if (kubeService.spec?.type !== 'ClusterIP') problems.push(`${serviceRef}: type ${kubeService.spec?.type ?? '(unset)'}, not ClusterIP`);
    const port = kubeService.spec?.ports?.find((candidate) => candidate.port === service.port);
    if (!port) problems.push(`${serviceRef}: does not expose port ${service.port}`);
    else if (port.targetPort !== 'http' && port.targetPort !== service.port) problems.push(`${serviceRef}: port ${service.port} targets ${port.targetPort}`);
    if (!selects(kubeService.spec?.selector, podLabels)) problems.push(`${serviceRef}: its selector does not match the Deployment's pods`);
    for (const job of jobOwners) {
      if (selects(kubeService.spec?.selector, job.labels)) problems.push(`${serviceRef}: its selector also matches the pods of ${job.ref}`);
    }
  }

  const pdb = named(ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget'), service.name);
  if (!pdb) problems.push(`${ref}: no PodDisruptionBudget`);
  else if (!selects(pdb.spec?.selector?.matchLabels, podLabels)) problems.push(`PodDisruptionBudget/${service.name}: does not select the Deployment's pods`);

  const databaseSecret = secretRefOf(container, 'DATABASE_URL');
  const migrationJobs = ofKind<IJob>(objects, 'Job').filter((job) =>
    job.spec?.template.spec?.containers.some((candidate) => runs(candidate, 'dist/migrate.js') && isImageOf(candidate.image, service.name)),
  );
  if (service.database) {
    if (!databaseSecret) problems.push(`${ref}: DATABASE_URL must come from a Secret (secretKeyRef)`);
    if (migrationJobs.length === 0) problems.push(`${service.name}: has a database but no migration Job running dist/migrate.js`);
    for (const job of migrationJobs) {
      const jobRef = `Job/${job.metadata?.name}`;
      const migrate = job.spec?.template.spec?.containers.find((candidate) => runs(candidate, 'dist/migrate.js'));
      if (databaseSecret !== undefined && secretRefOf(migrate, 'DATABASE_URL') !== databaseSecret) {
        problems.push(`${jobRef}: DATABASE_URL comes from ${secretRefOf(migrate, 'DATABASE_URL') ?? 'nowhere'}, not the service's ${databaseSecret}`);
      }
      if (job.spec?.backoffLimit === undefined) problems.push(`${jobRef}: no backoffLimit`);
      if (job.spec?.activeDeadlineSeconds === undefined) problems.push(`${jobRef}: no activeDeadlineSeconds (a stuck migration would hang the release)`);
    }
    const guard = (pod.initContainers ?? []).find((candidate) => runs(candidate, 'dist/migrate.js'));
    if (!guard) problems.push(`${ref}: no init container running dist/migrate.js (pods could start on an older schema)`);
    else if (databaseSecret !== undefined && secretRefOf(guard, 'DATABASE_URL') !== databaseSecret) problems.push(`${ref}: the migrate init container uses another DATABASE_URL`);
  } else {
    if (migrationJobs.length > 0) problems.push(`${service.name}: has no database but a migration Job`);
    for (const owner of owners.filter((candidate) => candidate.labels['app.kubernetes.io/name'] === service.name)) {
      if (allContainers(owner.spec).some((candidate) => candidate.env?.some((env) => env.name === 'DATABASE_URL'))) {
        problems.push(`${owner.ref}: ${service.name} has no database, yet gets a DATABASE_URL`);
      }
    }
  }
  // Other Jobs of the service (the seed) must use its database too.
  const otherJobs = ofKind<IJob>(objects, 'Job').filter(
    (job) => job.spec?.template.metadata?.labels?.['app.kubernetes.io/name'] === service.name && !migrationJobs.includes(job),
  );
  for (const job of databaseSecret === undefined ? [] : otherJobs) {
    for (const candidate of allContainers(job.spec?.template.spec ?? { containers: [] })) {
      const jobSecret = secretRefOf(candidate, 'DATABASE_URL');
      if (jobSecret !== undefined && jobSecret !== databaseSecret) {
        problems.push(`Job/${job.metadata?.name} container ${candidate.name}: DATABASE_URL comes from ${jobSecret}, not the service's ${databaseSecret}`);
      }
    }
  }
  return problems;
}

/**
 * Every policy the shop's manifests must meet, over one build (the base tree, or an overlay as
 * kustomize renders it). `services` are the ones this build is expected to contain.
 */
export function policyViolations(objects: KubeObject[], services: ShopService[]): string[] {
  const owners = podOwners(objects);
  const problems: string[] = [];
  for (const object of objects) {
    if (object.kind === 'Secret') {
      problems.push(`Secret/${String(object.metadata?.name)}: secrets are created out of band, never kept in the manifests`);
    }
  }
  for (const configMap of ofKind<IConfigMap>(objects, 'ConfigMap')) {
    for (const [key, value] of Object.entries(configMap.data ?? {})) {
      if (isSecretVariable(key)) problems.push(`ConfigMap/${configMap.metadata?.name}: ${key} is a secret and belongs in a Secret`);
      else if (CREDENTIALS_IN_URL.test(value)) problems.push(`ConfigMap/${configMap.metadata?.name}: ${key} holds a URL with a password`);
    }
  }
  for (const owner of owners) problems.push(...podProblems(owner));
  for (const service of services) problems.push(...serviceProblems(service, objects, owners));
  const known = new Set(services.map((service) => service.name));
  for (const deployment of ofKind<IDeployment>(objects, 'Deployment')) {
    if (!known.has(deployment.metadata?.name ?? '')) problems.push(`Deployment/${deployment.metadata?.name}: not one of ${[...known].join(', ')}`);
  }
  return problems;
}
