// The node flags rlmesh starts an actor with are the ones its deployments set (NODE_OPTIONS in the k8s base and in
// docker-compose), and only `serve <actor>` children get them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { ACTOR_NODE_FLAGS, nodeFlagsFor } from '../../../src/platform/process/index.ts';

test('serve <actor> children get the actor flags; other commands none', () => {
  assert.deepEqual(nodeFlagsFor(['serve', 'verifier', '--port', '0']), ['--max-semi-space-size=32']);
  assert.deepEqual(nodeFlagsFor(['serve', 'gateway', '--port', '0']), []);
  assert.deepEqual(nodeFlagsFor(['eval', 'verifier']), []);
});

test('deployments set the same flags through NODE_OPTIONS', () => {
  for (const [actor, flags] of Object.entries(ACTOR_NODE_FLAGS)) {
    const k8s = YAML.parseAllDocuments(readFileSync(`infra/k8s/base/${actor}.yaml`, 'utf8')).map((d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } } });
    const env = k8s.find((o) => o.kind === 'Deployment')?.spec?.template?.spec?.containers?.[0]?.env ?? [];
    assert.equal(env.find((e) => e.name === 'NODE_OPTIONS')?.value, flags.join(' '), `infra/k8s/base/${actor}.yaml`);
    const compose = YAML.parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, { environment?: Record<string, string> }> };
    assert.equal(compose.services[actor]?.environment?.NODE_OPTIONS, flags.join(' '), `docker-compose.yml ${actor}`);
  }
});
