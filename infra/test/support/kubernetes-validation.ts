import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { type IJob, Job } from 'kubernetes-models/batch/v1/Job';
import { type INetworkPolicy, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { type IPodDisruptionBudget, PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { type INamespace, Namespace } from 'kubernetes-models/v1/Namespace';
import { type ISecret, Secret } from 'kubernetes-models/v1/Secret';
import { type IService, Service } from 'kubernetes-models/v1/Service';

/**
 * The kinds the shop deploys, each checked against the Kubernetes OpenAPI schema by its
 * kubernetes-models class. A kind missing here is an error, not a pass: add its model first.
 */
const VALIDATORS: Record<string, (object: unknown) => void> = {
  'v1/ConfigMap': (object) => new ConfigMap(object as IConfigMap).validate(),
  'v1/Namespace': (object) => new Namespace(object as INamespace).validate(),
  'v1/Secret': (object) => new Secret(object as ISecret).validate(),
  'v1/Service': (object) => new Service(object as IService).validate(),
  'apps/v1/Deployment': (object) => new Deployment(object as IDeployment).validate(),
  'batch/v1/Job': (object) => new Job(object as IJob).validate(),
  'autoscaling/v2/HorizontalPodAutoscaler': (object) => new HorizontalPodAutoscaler(object as IHorizontalPodAutoscaler).validate(),
  'policy/v1/PodDisruptionBudget': (object) => new PodDisruptionBudget(object as IPodDisruptionBudget).validate(),
  'networking.k8s.io/v1/NetworkPolicy': (object) => new NetworkPolicy(object as INetworkPolicy).validate(),
  // The Prometheus Operator's CRD has no kubernetes-models class: its required shape, checked by hand
  // (the rules themselves are checked by promtool, in prometheus-rules.test.ts).
  'monitoring.coreos.com/v1/PrometheusRule': (object) => {
    const groups = (object as { spec?: { groups?: unknown } }).spec?.groups;
    if (!Array.isArray(groups) || groups.length === 0) throw new Error('spec.groups must be a non-empty list');
    for (const group of groups as { name?: unknown; rules?: unknown }[]) {
      if (typeof group.name !== 'string' || group.name === '') throw new Error('every group needs a name');
      if (!Array.isArray(group.rules)) throw new Error(`group ${group.name}: rules must be a list`);
      for (const rule of group.rules as { record?: unknown; alert?: unknown; expr?: unknown }[]) {
        if ((typeof rule.record === 'string') === (typeof rule.alert === 'string')) throw new Error(`group ${group.name}: each rule is a record or an alert`);
        if (typeof rule.expr !== 'string' && typeof rule.expr !== 'number') throw new Error(`group ${group.name}: ${String(rule.record ?? rule.alert)} has no expr`);
      }
    }
  },
};

/** What is wrong with one object (empty when nothing is). */
export function validationErrors(content: unknown): string[] {
  if (typeof content !== 'object' || content === null || Array.isArray(content)) return ['not a Kubernetes object (a mapping with apiVersion and kind)'];
  const { apiVersion, kind, metadata } = content as Record<string, unknown>;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return ['apiVersion and kind are required'];
  const validate = VALIDATORS[`${apiVersion}/${kind}`];
  if (!validate) return [`no model for ${apiVersion} ${kind}: add one to infra/test/support/kubernetes-validation.ts`];
  const errors: string[] = [];
  const name = (metadata as { name?: unknown } | undefined)?.name;
  // The schema leaves metadata.name optional (generateName exists); a manifest applied with kubectl needs it.
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)) {
    errors.push(`metadata.name ${JSON.stringify(name)} is not a valid name`);
  }
  try {
    validate(content);
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  return errors;
}
