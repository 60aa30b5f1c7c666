/**
 * Writes infra/k8s/monitoring/prometheus-rule.yaml: the rules of infra/prometheus/rules as a
 * PrometheusRule for the Prometheus Operator, so both deployments alert on the very same rules.
 *
 *   npx tsx infra/prometheus/prometheus-rule.ts          # after changing a rule
 *
 * `npx nx test infra` fails while the two differ.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const HERE = dirname(fileURLToPath(import.meta.url));
export const RULES_DIR = join(HERE, 'rules');
export const PROMETHEUS_RULE_FILE = resolve(HERE, '../k8s/monitoring/prometheus-rule.yaml');

/** Every group of every rules file, in file order. */
export function ruleGroups(): unknown[] {
  return readdirSync(RULES_DIR)
    .filter((file) => file.endsWith('.yml') || file.endsWith('.yaml'))
    .sort()
    .flatMap((file) => (parse(readFileSync(join(RULES_DIR, file), 'utf8')) as { groups: unknown[] }).groups);
}

export function prometheusRuleYaml(): string {
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'shop',
      labels: { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/component': 'monitoring' },
    },
    spec: { groups: ruleGroups() },
  };
  return `# Generated from infra/prometheus/rules by infra/prometheus/prometheus-rule.ts: edit the rules there.\n${stringify(rule, { lineWidth: 0 })}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(PROMETHEUS_RULE_FILE, prometheusRuleYaml());
  process.stdout.write(`wrote ${PROMETHEUS_RULE_FILE}\n`);
}
