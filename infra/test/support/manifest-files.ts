import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const INFRA_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const K8S_ROOT = join(INFRA_ROOT, 'k8s');
export const WORKSPACE_ROOT = resolve(INFRA_ROOT, '..');

/** A Kubernetes object as parsed from YAML: checked by the model validation before any policy trusts its shape. */
export type KubeObject = Record<string, unknown> & { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };

export interface YamlDocument {
  /** Relative to infra/k8s, for messages. */
  file: string;
  index: number;
  content: unknown;
}

export interface Kustomization {
  file: string;
  dir: string;
  kind: 'Kustomization' | 'Component';
  resources: string[];
  components: string[];
  patches: KustomizePatch[];
  images: { name?: string; newName?: string; newTag?: string; digest?: string }[];
  namespace?: string;
  raw: Record<string, unknown>;
}

export interface KustomizePatch {
  path?: string;
  patch?: string;
  target?: { kind?: string; name?: string; group?: string; version?: string };
}

const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export function isExampleFile(file: string): boolean {
  return /\.example\.ya?ml$/.test(file);
}

export function yamlFilesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...yamlFilesUnder(path));
    else if (/\.ya?ml$/.test(entry.name)) found.push(path);
  }
  return found.sort();
}

/** Every document of a YAML file; a syntax error names the file instead of passing as an empty document. */
export function readYamlDocuments(file: string): YamlDocument[] {
  const shown = relative(K8S_ROOT, file);
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((document, index) => {
    if (document.errors.length > 0) {
      throw new Error(`${shown} (document ${index + 1}): ${document.errors.map((error) => error.message).join('; ')}`);
    }
    const content: unknown = document.toJS();
    return content === null || content === undefined ? [] : [{ file: shown, index, content }];
  });
}

export function parseYamlDocuments(text: string, file: string): YamlDocument[] {
  return parseAllDocuments(text).flatMap((document, index) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`);
    const content: unknown = document.toJS();
    return content === null || content === undefined ? [] : [{ file, index, content }];
  });
}

export function kustomizationFileIn(dir: string): string | undefined {
  return KUSTOMIZATION_NAMES.map((name) => join(dir, name)).find((path) => existsSync(path));
}

export function isKustomizationFile(file: string): boolean {
  return KUSTOMIZATION_NAMES.includes(basename(file));
}

export function readKustomization(file: string): Kustomization {
  const [document] = readYamlDocuments(file);
  const raw = (document?.content ?? {}) as Record<string, unknown>;
  const list = <T>(key: string): T[] => (Array.isArray(raw[key]) ? (raw[key] as T[]) : []);
  return {
    file,
    dir: dirname(file),
    kind: raw.kind === 'Component' ? 'Component' : 'Kustomization',
    resources: list<string>('resources'),
    components: list<string>('components'),
    patches: list<KustomizePatch>('patches'),
    images: list('images'),
    namespace: typeof raw.namespace === 'string' ? raw.namespace : undefined,
    raw,
  };
}

export function allKustomizations(root = K8S_ROOT): Kustomization[] {
  return yamlFilesUnder(root).filter(isKustomizationFile).map(readKustomization);
}

/**
 * What kustomize would refuse, or silently do wrong, before it is ever run: references to files
 * or directories that do not exist, an example Secret pulled into a build, deprecated fields
 * (commonLabels rewrites selectors, which are immutable on a live Deployment).
 */
export function kustomizationProblems(kustomization: Kustomization): string[] {
  const problems: string[] = [];
  const shown = relative(K8S_ROOT, kustomization.file);
  const checkReference = (field: string, reference: string) => {
    if (/^[a-z]+:\/\//i.test(reference) || reference.startsWith('github.com/')) {
      problems.push(`${shown}: ${field} ${reference} is remote; everything deployed must be in this repository`);
      return;
    }
    const target = resolve(kustomization.dir, reference);
    if (!existsSync(target)) {
      problems.push(`${shown}: ${field} ${reference} does not exist`);
    } else if (statSync(target).isDirectory()) {
      if (!kustomizationFileIn(target)) problems.push(`${shown}: ${field} ${reference} is a directory without a kustomization.yaml`);
    } else if (field === 'components') {
      problems.push(`${shown}: component ${reference} must be a directory`);
    }
    if (isExampleFile(reference)) problems.push(`${shown}: ${field} ${reference} is an example and must never be deployed`);
  };
  for (const resource of kustomization.resources) checkReference('resources', resource);
  for (const component of kustomization.components) checkReference('components', component);
  for (const [index, patch] of kustomization.patches.entries()) {
    if (patch.path !== undefined) checkReference('patches', patch.path);
    else if (typeof patch.patch !== 'string') problems.push(`${shown}: patches[${index}] has neither path nor patch`);
    else if (patch.target === undefined) problems.push(`${shown}: patches[${index}] is inline without a target`);
  }
  for (const field of ['commonLabels', 'patchesStrategicMerge', 'patchesJson6902', 'bases', 'vars']) {
    if (field in kustomization.raw) problems.push(`${shown}: ${field} is deprecated; use labels/patches/resources`);
  }
  return problems;
}

/** YAML files next to a kustomization that no kustomization in the tree uses: forgotten, never deployed. */
export function unreferencedFiles(kustomizations: Kustomization[], root = K8S_ROOT): string[] {
  const referenced = new Set<string>();
  for (const kustomization of kustomizations) {
    referenced.add(kustomization.file);
    for (const path of [...kustomization.resources, ...kustomization.patches.flatMap((patch) => (patch.path ? [patch.path] : []))]) {
      referenced.add(resolve(kustomization.dir, path));
    }
  }
  const kustomizedDirs = new Set(kustomizations.map((kustomization) => kustomization.dir));
  return yamlFilesUnder(root)
    .filter((file) => kustomizedDirs.has(dirname(file)) && !isExampleFile(file) && !referenced.has(file))
    .map((file) => relative(root, file));
}

/** Files used as patches (partial objects), as opposed to whole resources. */
export function patchFiles(kustomizations: Kustomization[]): Set<string> {
  return new Set(
    kustomizations.flatMap((kustomization) =>
      kustomization.patches.flatMap((patch) => (patch.path ? [resolve(kustomization.dir, patch.path)] : [])),
    ),
  );
}

/**
 * The whole objects a kustomization builds from, following resources into other directories,
 * before any patch: enough to tell whether each patch has something to apply to.
 */
export function sourceObjectsOf(dir: string, seen = new Set<string>()): KubeObject[] {
  const file = kustomizationFileIn(dir);
  if (!file || seen.has(dir)) return [];
  seen.add(dir);
  const kustomization = readKustomization(file);
  return [...kustomization.resources, ...kustomization.components].flatMap((reference) => {
    const target = resolve(dir, reference);
    if (!existsSync(target)) return [];
    if (statSync(target).isDirectory()) return sourceObjectsOf(target, seen);
    return readYamlDocuments(target).map((document) => document.content as KubeObject);
  });
}

/** Each patch must find its target: kustomize fails on a strategic merge patch without one, and skips a targeted patch silently. */
export function patchTargetProblems(kustomization: Kustomization): string[] {
  const objects = sourceObjectsOf(kustomization.dir);
  const shown = relative(K8S_ROOT, kustomization.file);
  const problems: string[] = [];
  const exists = (kind: unknown, name: unknown) =>
    objects.some((object) => object.kind === kind && (name === undefined || object.metadata?.name === name));
  for (const patch of kustomization.patches) {
    if (patch.path !== undefined) {
      const file = resolve(kustomization.dir, patch.path);
      if (!existsSync(file)) continue; // reported by kustomizationProblems
      for (const { content } of readYamlDocuments(file)) {
        const object = content as KubeObject;
        if (!exists(object.kind, object.metadata?.name)) {
          problems.push(`${shown}: patch ${patch.path} targets ${String(object.kind)}/${String(object.metadata?.name)}, which the build does not contain`);
        }
      }
    } else if (patch.target !== undefined && !exists(patch.target.kind, patch.target.name)) {
      problems.push(`${shown}: inline patch targets ${patch.target.kind ?? '*'}/${patch.target.name ?? '*'}, which the build does not contain`);
    }
  }
  return problems;
}
