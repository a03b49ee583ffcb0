// Test helpers for infra/: render kustomize overlays with the real kubectl, validate objects against the
// Kubernetes and KEDA schemas (kubernetes-models), and name NATS streams the way docs/conventions.md does.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

/** A rendered manifest: only the fields the tests read are typed; the schemas check the rest. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** The actors and their conventional ports (docs/conventions.md, "Ports and environment"). */
export const ACTORS = {
  gateway: { port: 8080, metrics: 8080, kind: 'Deployment' },
  rollout: { port: 50051, metrics: 9464, kind: 'Deployment' },
  teacher: { port: 50052, metrics: 9465, kind: 'Deployment' },
  verifier: { port: 50053, metrics: 9466, kind: 'Deployment' },
  learner: { port: 50054, metrics: 9467, kind: 'StatefulSet' },
} as const;
export type Actor = keyof typeof ACTORS;
export const ACTOR_NAMES = Object.keys(ACTORS) as Actor[];

/** Worker actor -> the stream stage and durable consumer it pulls from (docs/conventions.md, "NATS"). */
export const WORKER_INPUT = {
  rollout: { stage: 'tasks', consumer: 'rollout' },
  verifier: { stage: 'rollouts', consumer: 'verifier' },
  teacher: { stage: 'rewarded', consumer: 'teacher' },
} as const;

/** `RLMESH_<RUN>_<STAGE>`: run id upper-cased, `-` replaced by `_`. */
export function streamName(runId: string, stage: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(runId)) throw new Error(`run id ${JSON.stringify(runId)} breaks [A-Za-z0-9_-]{1,64}`);
  return `RLMESH_${runId.toUpperCase().replaceAll('-', '_')}_${stage.toUpperCase()}`;
}

/** Runs `kubectl kustomize <dir>` and parses every document; throws (never skips) when kubectl cannot render. */
export function renderKustomize(dir: string): K8sObject[] {
  const r = spawnSync(KUBECTL, ['kustomize', path.resolve(REPO, dir)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`cannot run ${KUBECTL} kustomize ${dir}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${KUBECTL} kustomize ${dir} exited ${r.status}: ${r.stderr}`);
  const docs = parseAllDocuments(r.stdout);
  const objects = docs.map((d) => {
    if (d.errors.length) throw new Error(`rendered YAML of ${dir} does not parse: ${d.errors[0]!.message}`);
    return d.toJS() as K8sObject;
  });
  if (objects.length === 0) throw new Error(`kubectl kustomize ${dir} rendered nothing`);
  return objects;
}

type Validatable = { validate(): void };
const MODELS: Record<string, (o: K8sObject) => Validatable> = {
  'v1/Namespace': (o) => new Namespace(o as never),
  'v1/Secret': (o) => new Secret(o as never),
  'v1/ConfigMap': (o) => new ConfigMap(o as never),
  'v1/Service': (o) => new Service(o as never),
  'apps/v1/Deployment': (o) => new Deployment(o as never),
  'apps/v1/StatefulSet': (o) => new StatefulSet(o as never),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o as never),
  'keda.sh/v1alpha1/ScaledObject': (o) => new ScaledObject(o as never),
};

/** Validates one object against its schema; throws naming the object and the failing path. */
export function validateObject(o: K8sObject): void {
  const model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!model) throw new Error(`no schema registered for ${o.apiVersion} ${o.kind} (${o.metadata?.name}); add it to MODELS`);
  try {
    model(o).validate();
  } catch (err) {
    throw new Error(`${o.kind}/${o.metadata.name} fails its schema: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

/** ConfigMaps from generators carry a hash suffix: `rlmesh-env-<hash>`. */
export function configMap(objects: K8sObject[], base: string): K8sObject {
  const hits = objects.filter((o) => o.kind === 'ConfigMap' && (o.metadata.name === base || o.metadata.name.startsWith(`${base}-`)));
  if (hits.length !== 1) throw new Error(`expected one ConfigMap ${base}, found ${hits.length}`);
  return hits[0]!;
}

export function podSpec(o: K8sObject): IPodSpec {
  const template = o.spec?.template as { spec?: IPodSpec } | undefined;
  if (!template?.spec) throw new Error(`${o.kind}/${o.metadata.name} has no pod template`);
  return template.spec;
}

export function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
}

export function actorContainer(objects: K8sObject[], actor: Actor): IContainer {
  const w = find(objects, ACTORS[actor].kind, actor);
  if (!w) throw new Error(`no ${ACTORS[actor].kind}/${actor} rendered`);
  const c = podSpec(w).containers.find((x) => x.name === actor);
  if (!c) throw new Error(`${actor} has no container named ${actor}`);
  return c;
}

/** The environment a container sees: envFrom ConfigMaps expanded, then env. Secret refs become `secret:<name>/<key>`. */
export function containerEnv(objects: K8sObject[], c: IContainer): Map<string, string> {
  const env = new Map<string, string>();
  for (const src of c.envFrom ?? []) {
    const name = src.configMapRef?.name;
    if (!name) throw new Error(`${c.name}: only configMapRef envFrom is expected`);
    const cm = find(objects, 'ConfigMap', name);
    if (!cm) throw new Error(`${c.name}: envFrom ConfigMap ${name} is not rendered`);
    for (const [k, v] of Object.entries(cm.data ?? {})) env.set(k, v);
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    env.set(e.name, ref ? `secret:${ref.name}/${ref.key}` : (e.value ?? ''));
  }
  return env;
}

/** The run id the shipped run config names (ConfigMap rlmesh-run-config, key run.yaml). */
export function runIdOf(objects: K8sObject[]): string {
  const text = configMap(objects, 'rlmesh-run-config').data?.['run.yaml'];
  if (!text) throw new Error('rlmesh-run-config has no run.yaml');
  const cfg = parseYaml(text) as { run_id?: unknown } | null;
  return typeof cfg?.run_id === 'string' ? cfg.run_id : 'default';
}

export function readRepoFile(rel: string): string {
  return readFileSync(path.resolve(REPO, rel), 'utf8');
}
