import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { PROMETHEUS_RULE_FILE, prometheusRuleYaml, RULES_DIR } from '../prometheus/prometheus-rule';
import { INFRA_ROOT } from './support/manifest-files';

const PROMETHEUS_DIR = join(INFRA_ROOT, 'prometheus');
/** `PROMTOOL` points at another binary (or at none, to see the skip). */
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const promtool = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' }).status === 0;
const skip = promtool ? false : "promtool is not installed (Debian: apt-get install prometheus); Prometheus' rules are not checked";
if (!promtool) t.comment(`SKIPPED: ${skip}`);

function run(...args: string[]) {
  const result = spawnSync(PROMTOOL, args, { cwd: PROMETHEUS_DIR, encoding: 'utf8', timeout: 60_000 });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

t.test('the PrometheusRule carries exactly the rules docker-compose loads', async (t) => {
  t.equal(readFileSync(PROMETHEUS_RULE_FILE, 'utf8'), prometheusRuleYaml(), 'regenerate with: npx tsx infra/prometheus/prometheus-rule.ts');
  const rule = parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')) as { spec: { groups: { rules: { alert?: string }[] }[] } };
  const alerts = rule.spec.groups.flatMap((group) => group.rules.flatMap((candidate) => (candidate.alert ? [candidate.alert] : [])));
  for (const alert of ['OrderPendingTooLong', 'OutboxNotPublishing', 'ConsumerLagGrowing', 'DeadLetters', 'RouteOverLatencyBudget', 'CircuitBreakerOpen']) {
    t.ok(alerts.includes(alert), `alerts on ${alert}`);
  }
});

t.test('promtool check rules and check config', { skip }, async (t) => {
  const rules = run('check', 'rules', ...[join(RULES_DIR, 'shop.rules.yml')]);
  t.ok(rules.ok, rules.output);
  const config = run('check', 'config', 'prometheus.yml');
  t.ok(config.ok, config.output);
  // The PrometheusRule's groups, as a rules file, are valid too (its spec is what the operator loads).
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-rule-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rules.yml');
  writeFileSync(file, JSON.stringify({ groups: (parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')) as { spec: { groups: unknown[] } }).spec.groups }));
  const operator = run('check', 'rules', file);
  t.ok(operator.ok, operator.output);
});

t.test('promtool test rules: the alerts fire when they should and only then (a stalled consumer included)', { skip }, async (t) => {
  const tested = run('test', 'rules', join('tests', 'shop.rules.test.yml'));
  t.ok(tested.ok, tested.output);
});

t.test('promtool catches a broken rule and a rule test that does not hold', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-broken-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'broken.yml'), 'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m]) by\n');
  t.notOk(run('check', 'rules', join(dir, 'broken.yml')).ok, 'a syntax error fails');
  // The stalled-consumer test, expecting the alert before its minute: must fail.
  const tests = readFileSync(join(PROMETHEUS_DIR, 'tests', 'shop.rules.test.yml'), 'utf8')
    .replace('../rules/shop.rules.yml', join(RULES_DIR, 'shop.rules.yml'))
    .replace('exp_alerts: []  # growing, but not yet for a minute', 'exp_alerts: [{ exp_labels: { severity: page, stream: "events:orders", group: catalog } }]');
  writeFileSync(join(dir, 'early.test.yml'), tests);
  t.notOk(run('test', 'rules', join(dir, 'early.test.yml')).ok, 'an alert expected too early fails');
});
