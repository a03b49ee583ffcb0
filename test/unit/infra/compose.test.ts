// docker-compose.yml parses and runs every actor with the same command, environment and files as the manifests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ACTOR_NAMES, REPO, actorContainer, configMap, containerEnv, readRepoFile, renderKustomize } from './manifests.ts';

interface ComposeService {
  image?: string;
  command?: string[];
  env_file?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
}
const compose = parseYaml(readRepoFile('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
const manifests = renderKustomize('infra/k8s/overlays/dev');

/** KEY=VALUE lines, as docker compose reads an env_file. */
function envFile(rel: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readRepoFile(rel).split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const i = t.indexOf('=');
    out.set(t.slice(0, i), t.slice(i + 1));
  }
  return out;
}

function composeEnv(svc: ComposeService): Map<string, string> {
  const env = new Map<string, string>();
  for (const f of svc.env_file ?? []) for (const [k, v] of envFile(f)) env.set(k, v);
  for (const [k, v] of Object.entries(svc.environment ?? {})) env.set(k, String(v));
  return env;
}

test('compose names NATS, the five actors, the collector and Jaeger', () => {
  for (const name of ['nats', 'otel-collector', 'jaeger', ...ACTOR_NAMES]) assert.ok(compose.services[name], `service ${name}`);
});

test('each actor runs the manifest command with the same environment variables (values equal unless secret)', () => {
  for (const actor of ACTOR_NAMES) {
    const svc = compose.services[actor]!;
    const c = actorContainer(manifests, actor);
    assert.deepEqual(svc.command, c.args, `${actor} command`);
    assert.equal(svc.image?.split(':')[0], c.image?.split(':')[0], `${actor} image`);
    const want = containerEnv(manifests, c);
    const got = composeEnv(svc);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${actor}: environment variable names`);
    for (const [k, v] of want) {
      if (v.startsWith('secret:')) assert.match(got.get(k)!, /^\$\{[A-Z_]+(:-[^}]*)?\}$/, `${actor}: ${k} comes from the shell/.env`);
      else assert.equal(got.get(k), v, `${actor}: ${k}`);
    }
    assert.equal(svc.user, '10001:10001', `${actor} runs as the image's non-root user`);
    assert.equal(svc.read_only, true);
    assert.deepEqual(svc.cap_drop, ['ALL']);
  }
});

test('compose mounts the same run config, NATS and collector config files the ConfigMaps are generated from', () => {
  const mounted = new Map<string, string>(); // container path -> host file
  for (const svc of Object.values(compose.services)) {
    for (const v of svc.volumes ?? []) {
      const [host, target] = v.split(':');
      if (host!.startsWith('./')) {
        assert.ok(existsSync(path.resolve(REPO, host!)), `${host} exists`);
        mounted.set(target!, host!.slice(2));
      }
    }
  }
  const runConfigPath = containerEnv(manifests, actorContainer(manifests, 'rollout')).get('RLMESH_CONFIG')!;
  assert.equal(readRepoFile(mounted.get(runConfigPath)!), configMap(manifests, 'rlmesh-run-config').data!['run.yaml']);
  assert.equal(readRepoFile(mounted.get('/etc/nats/nats.conf')!), configMap(manifests, 'nats-config').data!['nats.conf']);
  assert.equal(readRepoFile(mounted.get('/etc/otelcol/config.yaml')!), configMap(manifests, 'otel-collector-config').data!['config.yaml']);
  const nats = compose.services.nats!;
  for (const k of ['RLMESH_NATS_USER', 'RLMESH_NATS_PASSWORD']) assert.ok(nats.environment?.[k], `nats gets ${k} for nats.conf`);
  assert.equal(nats.environment?.RLMESH_NATS_PASSWORD, compose.services.rollout!.environment?.RLMESH_NATS_PASSWORD);
});
