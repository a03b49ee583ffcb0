// The kustomize base and both overlays render with the real kubectl, pass the Kubernetes/KEDA schemas, and keep
// the promises the deployment makes: probes, resources, non-root containers, KEDA on the right consumer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import {
  ACTORS, ACTOR_NAMES, WORKER_INPUT, actorContainer, configMap, containerEnv, find, podSpec, renderKustomize,
  runIdOf, streamName, validateObject, workloads,
} from './manifests.ts';

const INFRA_README = readFileSync('infra/README.md', 'utf8');

const RENDERS = {
  base: renderKustomize('infra/k8s/base'),
  dev: renderKustomize('infra/k8s/overlays/dev'),
  gpu: renderKustomize('infra/k8s/overlays/gpu'),
};
const ALL = Object.entries(RENDERS);

test('every rendered object passes its Kubernetes or KEDA schema', () => {
  for (const [name, objects] of ALL) {
    assert.ok(objects.length >= 25, `${name}: only ${objects.length} objects rendered`);
    for (const o of objects) validateObject(o);
  }
});

test('the schema check rejects a broken object (it is not a no-op)', () => {
  const good = find(RENDERS.base, 'Deployment', 'rollout')!;
  const broken = structuredClone(good);
  (podSpec(broken).containers[0]!.ports![0] as { containerPort: unknown }).containerPort = 'fifty';
  assert.throws(() => validateObject(broken), /containerPort/);
  const so = structuredClone(find(RENDERS.base, 'ScaledObject', 'rollout')!);
  (so.spec as { minReplicaCount: unknown }).minReplicaCount = 'zero';
  assert.throws(() => validateObject(so), /minReplicaCount/);
});

function assertProbe(where: string, p: IProbe | undefined): void {
  assert.ok(p, `${where} missing`);
  assert.ok(p.grpc || p.httpGet || p.tcpSocket || p.exec, `${where} has no handler`);
}

function assertHardened(where: string, pod: IPodSpec, c: IContainer): void {
  const sc = c.securityContext ?? {};
  const psc = pod.securityContext ?? {};
  assert.equal(sc.runAsNonRoot ?? psc.runAsNonRoot, true, `${where}: runAsNonRoot`);
  const uid = sc.runAsUser ?? psc.runAsUser;
  assert.ok(typeof uid === 'number' && uid > 0, `${where}: runAsUser must be a non-zero uid, got ${uid}`);
  assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
  assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}: capabilities.drop`);
  assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
  assert.equal(sc.privileged ?? false, false, `${where}: privileged`);
  const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
  assert.ok(tmp, `${where}: read-only root needs a writable /tmp`);
  assert.ok(pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir, `${where}: /tmp must be an emptyDir`);
}

test('every container has readiness+liveness probes, requests+limits and a non-root hardened securityContext', () => {
  for (const [name, objects] of ALL) {
    for (const w of workloads(objects)) {
      const pod = podSpec(w);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const where = `${name}: ${w.kind}/${w.metadata.name} container ${c.name}`;
        assertProbe(`${where} readinessProbe`, c.readinessProbe);
        assertProbe(`${where} livenessProbe`, c.livenessProbe);
        for (const r of ['cpu', 'memory']) {
          assert.ok(c.resources?.requests?.[r], `${where}: resources.requests.${r}`);
          assert.ok(c.resources?.limits?.[r], `${where}: resources.limits.${r}`);
        }
        assertHardened(where, pod, c);
      }
    }
  }
});

test('actors: conventional ports, native gRPC health probes (HTTP /healthz for the gateway), `serve <actor> --port`', () => {
  for (const [name, objects] of ALL) {
    for (const actor of ACTOR_NAMES) {
      const { port, metrics } = ACTORS[actor];
      const c = actorContainer(objects, actor);
      assert.deepEqual(c.args, ['serve', actor, '--port', String(port)], `${name}/${actor} args`);
      const ports = (c.ports ?? []).map((p) => p.containerPort);
      assert.ok(ports.includes(port) && ports.includes(metrics), `${name}/${actor}: container ports ${ports}`);
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
        if (actor === 'gateway') {
          assert.equal(probe?.httpGet?.path, '/healthz', `${name}/gateway probe path`);
          const p = probe?.httpGet?.port;
          assert.ok(p === port || c.ports?.some((cp) => cp.name === p && cp.containerPort === port), `${name}/gateway probe port ${p}`);
        } else {
          assert.equal(probe?.grpc?.port, port, `${name}/${actor}: gRPC health probe on ${port}`);
        }
      }
      const svc = find(objects, 'Service', actor);
      assert.ok(svc, `${name}: Service/${actor}`);
      const svcPorts = (svc.spec?.ports as Array<{ port: number }>).map((p) => p.port);
      assert.ok(svcPorts.includes(port) && svcPorts.includes(metrics), `${name}: Service/${actor} ports ${svcPorts}`);
    }
  }
});

test('env: run id, NATS, OTLP and secrets wired the same way for every actor; references resolve', () => {
  for (const [name, objects] of ALL) {
    const runId = runIdOf(objects);
    const otlp = new URL(configMap(objects, 'rlmesh-env').data!.OTEL_EXPORTER_OTLP_ENDPOINT!);
    const collector = find(objects, 'Service', otlp.hostname);
    assert.ok(collector, `${name}: OTLP endpoint host ${otlp.hostname} is not a Service`);
    assert.ok((collector.spec?.ports as Array<{ port: number }>).some((p) => p.port === Number(otlp.port)), `${name}: collector port ${otlp.port}`);
    const nats = new URL(configMap(objects, 'rlmesh-env').data!.RLMESH_NATS_URL!);
    assert.ok(find(objects, 'Service', nats.hostname), `${name}: NATS URL host ${nats.hostname} is not a Service`);
    for (const actor of ACTOR_NAMES) {
      const env = containerEnv(objects, actorContainer(objects, actor));
      assert.equal(env.get('RLMESH_RUN_ID'), runId, `${name}/${actor}: RLMESH_RUN_ID vs run_id in run.yaml`);
      assert.equal(env.get('RLMESH_CONFIG'), '/etc/rlmesh/run.yaml');
      assert.equal(env.get('OTEL_SERVICE_NAME'), `rlmesh-${actor}`);
      assert.match(env.get('RLMESH_BACKEND') ?? '', /^(wasm|webgpu|tensorflow|cpu)$/);
      assert.equal(env.get('RLMESH_NATS_PASSWORD'), 'secret:rlmesh-secrets/nats-password');
      assert.equal(env.has('RLMESH_API_TOKEN'), actor === 'gateway', `${name}/${actor}: API token only for the gateway`);
      const mount = actorContainer(objects, actor).volumeMounts?.find((m) => m.mountPath === '/etc/rlmesh');
      assert.ok(mount, `${name}/${actor}: run config mounted at /etc/rlmesh`);
      // wasm threads (default 1) within the container's CPU limit; the learner's products use the cores it requests
      const threads = Number(env.get('RLMESH_WASM_THREADS') ?? '1');
      const cpu = (q: unknown) => (typeof q === 'string' && q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));
      const resources = actorContainer(objects, actor).resources;
      if (resources?.limits?.cpu !== undefined) assert.ok(threads <= cpu(resources.limits.cpu), `${name}/${actor}: ${threads} wasm threads > CPU limit`);
      if (actor === 'learner' && env.get('RLMESH_BACKEND') === 'wasm') {
        assert.equal(threads, Math.max(1, Math.floor(cpu(resources?.requests?.cpu))), `${name}/learner: wasm threads = its requested cores`);
      }
    }
    for (const w of workloads(objects)) {
      const pod = podSpec(w);
      for (const c of pod.containers) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) continue;
          // The dev overlay carries placeholder credentials; the base and gpu overlay carry no Secret (applying them
          // again must never put placeholders over real credentials): the user creates it with infra/README.md's
          // command, which must provide every key referenced.
          const secret = find(objects, 'Secret', ref.name!);
          if (name === 'dev') assert.ok(secret?.stringData?.[ref.key] ?? secret?.data?.[ref.key], `${name}: ${c.name} needs Secret ${ref.name} key ${ref.key}`);
          else {
            assert.equal(secret, undefined, `${name}: renders no Secret ${ref.name}`);
            assert.match(INFRA_README, new RegExp(`create secret generic ${ref.name}[^\`]*--from-literal=${ref.key}=`), `${name}: infra/README.md creates ${ref.name} key ${ref.key}`);
          }
        }
      }
      for (const v of pod.volumes ?? []) {
        if (v.configMap) assert.ok(find(objects, 'ConfigMap', v.configMap.name!), `${name}: volume ConfigMap ${v.configMap.name}`);
      }
    }
  }
});

test('KEDA: one ScaledObject per worker, on that worker\'s stream/consumer for the configured run id', () => {
  for (const [name, objects] of [['base', RENDERS.base], ['gpu', RENDERS.gpu]] as const) {
    const runId = runIdOf(objects);
    const scaled = objects.filter((o) => o.kind === 'ScaledObject');
    assert.equal(scaled.length, Object.keys(WORKER_INPUT).length, `${name}: ScaledObjects`);
    const natsMonitor = (find(objects, 'Service', 'nats')?.spec?.ports as Array<{ port: number }>).map((p) => p.port);
    for (const [actor, input] of Object.entries(WORKER_INPUT)) {
      const so = scaled.find((o) => (o.spec?.scaleTargetRef as { name: string }).name === actor);
      assert.ok(so, `${name}: no ScaledObject targets ${actor}`);
      const spec = so.spec as { scaleTargetRef: { kind?: string }; minReplicaCount: number; maxReplicaCount: number;
        triggers: Array<{ type: string; metadata: Record<string, string> }> };
      assert.equal(spec.scaleTargetRef.kind ?? 'Deployment', 'Deployment');
      assert.ok(find(objects, 'Deployment', actor), `${name}: target Deployment/${actor} exists`);
      assert.equal(find(objects, 'Deployment', actor)!.spec?.replicas, undefined, `${name}: KEDA owns ${actor} replicas`);
      assert.ok(spec.minReplicaCount === 0 || spec.minReplicaCount === 1, `${name}/${actor}: min ${spec.minReplicaCount}`);
      assert.ok(spec.maxReplicaCount > spec.minReplicaCount, `${name}/${actor}: max ${spec.maxReplicaCount}`);
      assert.equal(spec.triggers.length, 1);
      const t = spec.triggers[0]!;
      assert.equal(t.type, 'nats-jetstream');
      assert.equal(t.metadata.stream, streamName(runId, input.stage), `${name}/${actor} stream`);
      assert.equal(t.metadata.consumer, input.consumer, `${name}/${actor} consumer`);
      assert.equal(t.metadata.account, '$G', 'nats.conf has no accounts block, so users live in $G');
      // KEDA's operator calls it from its own namespace: a bare Service name would not resolve there.
      const [host, port] = t.metadata.natsServerMonitoringEndpoint!.split(':');
      const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(host!);
      assert.ok(m, `${name}: monitoring host ${host} is <service>.<namespace>.svc.cluster.local`);
      const service = find(objects, 'Service', m[1]!);
      assert.ok(service, `${name}: monitoring host ${host} is a Service`);
      assert.equal(m[2], service.metadata.namespace, `${name}: monitoring host ${host} names the Service's namespace`);
      assert.equal(Number(port), 8222);
      assert.ok(natsMonitor.includes(8222), `${name}: Service/nats exposes 8222`);
      assert.ok(Number.isInteger(Number(t.metadata.lagThreshold)) && Number(t.metadata.lagThreshold) > 0, 'lagThreshold');
    }
    assert.ok(!scaled.some((o) => (o.spec?.scaleTargetRef as { name: string }).name === 'learner'), 'learner is not autoscaled');
    assert.equal((scaled.find((o) => o.metadata.name === 'rollout')!.spec as { minReplicaCount: number }).minReplicaCount, 0,
      'rollout scales to zero when idle');
  }
});

test('learner: one-replica StatefulSet with a checkpoint volume claim mounted at /data/runs', () => {
  for (const [name, objects] of ALL) {
    const ss = find(objects, 'StatefulSet', 'learner')!;
    assert.equal(ss.spec?.replicas, 1);
    const claims = ss.spec?.volumeClaimTemplates as Array<{ metadata: { name: string } }>;
    const mount = actorContainer(objects, 'learner').volumeMounts?.find((m) => m.mountPath === '/data/runs');
    assert.ok(mount && claims.some((c) => c.metadata.name === mount.name), `${name}: /data/runs comes from a claim template`);
    const svc = find(objects, 'Service', ss.spec?.serviceName as string);
    assert.ok(svc, `${name}: serviceName Service exists`);
  }
});

test('every workload is covered by a PodDisruptionBudget; NATS runs JetStream with monitoring on 8222', () => {
  for (const [name, objects] of ALL) {
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    for (const w of workloads(objects)) {
      const labels = (w.spec?.template as { metadata: { labels: Record<string, string> } }).metadata.labels;
      const covered = pdbs.some((p) => Object.entries((p.spec?.selector as { matchLabels: Record<string, string> }).matchLabels)
        .every(([k, v]) => labels[k] === v));
      assert.ok(covered, `${name}: ${w.kind}/${w.metadata.name} has no PodDisruptionBudget`);
    }
    const conf = configMap(objects, 'nats-config').data!['nats.conf']!;
    assert.match(conf, /^jetstream\s*\{/m);
    assert.match(conf, /^http_port:\s*8222$/m);
    // The preStop hook puts NATS in lame-duck mode: it must end inside the pod's grace period (default 2 min would not).
    const seconds = (key: string) => Number(new RegExp(`^${key}:\\s*"?(\\d+)s"?$`, 'm').exec(conf)?.[1]);
    const grace = (find(objects, 'StatefulSet', 'nats')!.spec?.template as { spec: { terminationGracePeriodSeconds: number } }).spec.terminationGracePeriodSeconds;
    assert.ok(seconds('lame_duck_duration') + seconds('lame_duck_grace_period') < grace, `${name}: lame duck ${seconds('lame_duck_duration')} s + ${seconds('lame_duck_grace_period')} s within the ${grace} s grace period`);
    const collector = parseYaml(configMap(objects, 'otel-collector-config').data!['config.yaml']!) as {
      exporters: Record<string, { endpoint: string }>; receivers: Record<string, unknown>; processors: Record<string, unknown>;
      service: { pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
    };
    const traces = collector.service.pipelines.traces!;
    for (const r of traces.receivers) assert.ok(r in collector.receivers, `collector receiver ${r} defined`);
    for (const p of traces.processors) assert.ok(p in collector.processors, `collector processor ${p} defined`);
    assert.ok(traces.processors.includes('batch'));
    for (const e of traces.exporters) {
      const [host, port] = collector.exporters[e]!.endpoint.split(':');
      const svc = find(objects, 'Service', host!);
      assert.ok((svc?.spec?.ports as Array<{ port: number }>).some((p) => p.port === Number(port)), `${name}: exporter ${e} -> ${host}:${port}`);
    }
  }
});

test('dev overlay: one replica each, CPU only, no KEDA', () => {
  const objects = RENDERS.dev;
  for (const w of workloads(objects)) assert.equal(w.spec?.replicas, 1, `${w.kind}/${w.metadata.name} replicas`);
  assert.equal(objects.filter((o) => o.kind === 'ScaledObject').length, 0);
  for (const actor of ACTOR_NAMES) {
    const c = actorContainer(objects, actor);
    assert.equal(c.resources?.limits?.['nvidia.com/gpu'], undefined);
    assert.equal(containerEnv(objects, c).get('RLMESH_BACKEND'), 'wasm');
  }
});

test('gpu overlay: GPUs, WebGPU and GPU nodes for rollout/teacher/learner only', () => {
  const objects = RENDERS.gpu;
  for (const actor of ACTOR_NAMES) {
    const c = actorContainer(objects, actor);
    const pod = podSpec(find(objects, ACTORS[actor].kind, actor)!);
    const env = containerEnv(objects, c);
    if (actor === 'rollout' || actor === 'teacher' || actor === 'learner') {
      assert.equal(String(c.resources?.limits?.['nvidia.com/gpu']), '1', `${actor} GPU limit`);
      assert.equal(env.get('RLMESH_BACKEND'), 'webgpu');
      assert.match(env.get('NVIDIA_DRIVER_CAPABILITIES') ?? '', /graphics/, `${actor}: Vulkan ICD needs the graphics capability`);
      assert.match(c.image ?? '', /rlmesh-gpu:/);
      assert.ok(pod.tolerations?.some((t) => t.key === 'nvidia.com/gpu'), `${actor} tolerates GPU taint`);
      assert.ok(pod.nodeSelector && Object.keys(pod.nodeSelector).length > 0, `${actor} selects GPU nodes`);
    } else {
      assert.equal(c.resources?.limits?.['nvidia.com/gpu'], undefined, `${actor} stays on CPU`);
      assert.equal(env.get('RLMESH_BACKEND'), 'wasm');
    }
  }
});

