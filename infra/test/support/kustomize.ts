import { spawnSync } from 'node:child_process';
import { type KubeObject, parseYamlDocuments } from './manifest-files';

/** `kustomize build` or `kubectl kustomize`, whichever the machine has; undefined when neither. */
function findRenderer(): string[] | undefined {
  for (const [probe, command] of [
    [['kustomize', 'version'], ['kustomize', 'build']],
    [['kubectl', 'version', '--client'], ['kubectl', 'kustomize']],
  ] as const) {
    const result = spawnSync(probe[0], probe.slice(1), { encoding: 'utf8', timeout: 30_000 });
    if (result.status === 0) return [...command];
  }
  return undefined;
}

export const renderer = findRenderer();

/** The objects kustomize builds from a directory, exactly as `kubectl apply -k` would send them. */
export function render(dir: string): KubeObject[] {
  if (!renderer) throw new Error('neither kustomize nor kubectl is installed');
  const [command, ...args] = renderer;
  const result = spawnSync(command!, [...args, dir], { encoding: 'utf8', timeout: 60_000, maxBuffer: 32 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${renderer.join(' ')} ${dir} failed: ${result.stderr || result.error?.message}`);
  return parseYamlDocuments(result.stdout, dir).map((document) => document.content as KubeObject);
}
