import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { validationErrors } from './support/kubernetes-validation';
import { render, renderer } from './support/kustomize';
import { K8S_ROOT, type KubeObject, readKustomization } from './support/manifest-files';
import { imageTag, policyViolations, shopServices } from './support/policies';

const DEV = join(K8S_ROOT, 'overlays', 'dev');
const PRODUCTION = join(K8S_ROOT, 'overlays', 'production');
const services = shopServices();
const skip = renderer ? false : 'neither kustomize nor kubectl is installed: overlays are checked from their sources only';

const CLUSTER_SCOPED = new Set(['Namespace']);

function podSpecs(objects: KubeObject[]): IPodSpec[] {
  return objects.flatMap((object) => {
    const spec = (object as unknown as IDeployment | IJob).spec?.template?.spec;
    return object.kind === 'Deployment' || object.kind === 'Job' ? [spec!] : [];
  });
}

function images(objects: KubeObject[]): string[] {
  return podSpecs(objects).flatMap((spec) => [...(spec.initContainers ?? []), ...spec.containers].map((container) => container.image!));
}

function byKindAndName<T>(objects: KubeObject[], kind: string): Map<string, T> {
  return new Map(objects.filter((object) => object.kind === kind).map((object) => [String(object.metadata?.name), object as unknown as T]));
}

/** What every rendered overlay must be: valid objects, every policy met, in one namespace, with the shop's labels. */
function checkBuild(t: Test, objects: KubeObject[], expected: { namespace: string; services: typeof services }) {
  for (const object of objects) {
    t.same(validationErrors(object), [], `${String(object.kind)}/${String(object.metadata?.name)} is valid`);
  }
  t.same(policyViolations(objects, expected.services), [], 'every policy holds after the patches');
  const outside = objects.filter((object) => !CLUSTER_SCOPED.has(String(object.kind)) && (object.metadata as { namespace?: string })?.namespace !== expected.namespace);
  t.same(outside.map((object) => `${String(object.kind)}/${String(object.metadata?.name)}`), [], `everything lands in ${expected.namespace}`);
  const unlabelled = objects.filter((object) => (object.metadata as { labels?: Record<string, string> })?.labels?.['app.kubernetes.io/part-of'] !== 'shop');
  t.same(unlabelled.map((object) => `${String(object.kind)}/${String(object.metadata?.name)}`), [], 'every object carries the common labels');
  for (const deployment of byKindAndName<IDeployment>(objects, 'Deployment').values()) {
    t.same(
      Object.keys(deployment.spec!.selector.matchLabels ?? {}).sort(),
      ['app.kubernetes.io/component', 'app.kubernetes.io/name'],
      `Deployment/${deployment.metadata?.name}: the common labels stay out of its immutable selector`,
    );
    t.equal(deployment.spec!.template.metadata?.labels?.['app.kubernetes.io/part-of'], 'shop', `Deployment/${deployment.metadata?.name}: pods carry the common labels`);
  }
}

t.test('sources: each production service sets its own image tag; dev uses the compose images', async (t) => {
  const root = readKustomization(join(PRODUCTION, 'kustomization.yaml'));
  t.same([...root.resources].sort(), services.map((service) => service.name).sort(), 'the production overlay is the sum of the per-service overlays');
  t.same(root.images, [], 'no tag is set for the whole production overlay: a service is released on its own');
  t.same(root.patches, [], 'no patch hides in the production root: `apply -k production/<service>` must deploy the same thing');
  for (const service of services) {
    const overlay = readKustomization(join(PRODUCTION, service.name, 'kustomization.yaml'));
    t.equal(overlay.namespace, 'shop', `production/${service.name} has the namespace`);
    t.equal(overlay.images.length, 1, `production/${service.name} sets one image`);
    t.equal(overlay.images[0]?.name, `shop/${service.name}`, `production/${service.name} sets its own image`);
    const tag = overlay.images[0]?.newTag;
    t.ok(overlay.images[0]?.digest || (tag && !['latest', 'dev'].includes(tag)), `production/${service.name} pins a release tag or digest (got ${tag})`);
    t.ok(overlay.components.length > 0, `production/${service.name} applies the common labels itself`);
  }
  const dev = readKustomization(join(DEV, 'kustomization.yaml'));
  t.same(
    dev.images.map((image) => `${image.name}:${image.newTag}`).sort(),
    services.map((service) => `shop/${service.name}:dev`).sort(),
    'dev runs the images `docker compose build` tags',
  );
});

t.test('dev overlay, as kustomize renders it', { skip }, async (t) => {
  const objects = render(DEV);
  checkBuild(t, objects, { namespace: 'shop-dev', services });
  const namespace = byKindAndName<{ metadata: { labels?: Record<string, string> } }>(objects, 'Namespace').get('shop-dev');
  t.equal(namespace?.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted', 'the namespace enforces the restricted pod security profile');
  t.same([...new Set(images(objects).map(imageTag))], ['dev'], 'every image is a :dev one');
  for (const hpa of byKindAndName<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler').values()) {
    t.same([hpa.spec?.minReplicas, hpa.spec?.maxReplicas], [1, 2], `HorizontalPodAutoscaler/${hpa.metadata?.name}: 1 to 2 replicas`);
  }
  for (const configMap of byKindAndName<IConfigMap>(objects, 'ConfigMap').values()) {
    t.equal(configMap.data?.LOG_LEVEL, 'debug', `ConfigMap/${configMap.metadata?.name}: debug logs`);
  }
  t.ok(byKindAndName(objects, 'Job').has('catalog-seed'), 'the demo catalog is seeded');
});

t.test('production overlay, as kustomize renders it', { skip }, async (t) => {
  const objects = render(PRODUCTION);
  checkBuild(t, objects, { namespace: 'shop', services });
  for (const image of images(objects)) t.notOk(['latest', 'dev', undefined].includes(imageTag(image)), `${image} is a release tag`);
  t.notOk(byKindAndName(objects, 'Job').has('catalog-seed'), 'no demo data in production');
  const deployments = byKindAndName<IDeployment>(objects, 'Deployment');
  const baseDeployments = byKindAndName<IDeployment>(render(join(K8S_ROOT, 'base')), 'Deployment');
  for (const hpa of byKindAndName<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler').values()) {
    t.ok((hpa.spec?.minReplicas ?? 1) >= 3, `HorizontalPodAutoscaler/${hpa.metadata?.name}: at least 3 replicas`);
  }
  for (const [name, deployment] of deployments) {
    const resources = (spec: IDeployment | undefined) => spec?.spec?.template.spec?.containers.find((container) => container.name === name)?.resources;
    t.notSame(resources(deployment), resources(baseDeployments.get(name)), `Deployment/${name}: production sizes its resources`);
  }

  const perService = services.flatMap((service) => {
    const own = render(join(PRODUCTION, service.name));
    t.test(`production/${service.name} on its own`, async (t) => {
      checkBuild(t, own, { namespace: 'shop', services: [service] });
      const strangers = own.filter((object) => (object.metadata as { labels?: Record<string, string> }).labels?.['app.kubernetes.io/name'] !== service.name);
      t.same(strangers.map((object) => `${String(object.kind)}/${String(object.metadata?.name)}`), [], `only ${service.name}'s objects`);
    });
    return own;
  });
  const key = (object: KubeObject) => `${String(object.kind)}/${String(object.metadata?.name)}`;
  const sorted = (list: KubeObject[]) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
  t.same(sorted(objects), sorted(perService), 'the whole overlay is exactly its services, each as deployed on its own');
});
