// An invalid run-config file makes `rlmesh serve learner` and `rlmesh up` exit non-zero with the offending field
// named on stderr, before any process, model or NATS connection is started.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { CLI_ENTRY, tinyConfig } from './harness.ts';
import { SHARED_NATS_URL, uniqueRunId } from '../fixtures/nats-server.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-badcfg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, overrides: Record<string, unknown>): string {
  const file = path.join(dir, name);
  writeFileSync(file, YAML.stringify(tinyConfig(uniqueRunId('badcfg'), overrides)));
  return file;
}

function rlmesh(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RLMESH_RUNS_DIR: path.join(dir, 'runs') },
    });
    let stderr = '', stdout = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.once('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

const cases: Array<{ name: string; overrides: Record<string, unknown>; field: RegExp }> = [
  { name: 'negative-lr.yaml', overrides: { learner: { lr: -1 } }, field: /learner\.lr/ },
  { name: 'unknown-key.yaml', overrides: { rollout: { group_sizes: 4 } }, field: /rollout\.group_sizes: unknown key/ },
  { name: 'bad-mode.yaml', overrides: { mode: 'nonsense' }, field: /mode/ },
];

for (const c of cases) {
  test(`serve learner --config ${c.name} exits non-zero naming the field`, async () => {
    const file = writeConfig(c.name, c.overrides);
    const r = await rlmesh(['serve', 'learner', '--port', '0', '--metrics-port', '0', '--nats', SHARED_NATS_URL, '--config', file]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, c.field, r.stderr);
    assert.doesNotMatch(r.stdout, /READY/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  });
}

test('up --config with an invalid field exits non-zero naming it, before starting anything', async () => {
  const file = writeConfig('up-bad.yaml', { rollout: { group_size: 0 } });
  const r = await rlmesh(['up', '--config', file, '--nats', SHARED_NATS_URL]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /rollout\.group_size/, r.stderr);
  assert.doesNotMatch(r.stdout, /RESULT/);
  assert.doesNotMatch(r.stderr, /processes up|eval student/);
});

test('a config file that is not YAML at all is refused naming the file', async () => {
  const file = path.join(dir, 'broken.yaml');
  writeFileSync(file, 'learner: { steps: [1, 2\n');
  const r = await rlmesh(['serve', 'learner', '--port', '0', '--nats', SHARED_NATS_URL, '--config', file]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /broken\.yaml/, r.stderr);
});

test('up with a student model folder that does not exist fails naming it and leaves no run folder', async () => {
  const runId = uniqueRunId('badcfg-model');
  const file = path.join(dir, 'no-model.yaml');
  writeFileSync(file, YAML.stringify({ ...tinyConfig(runId, {}), student: { model: path.join(dir, 'no-such-model') } }));
  const r = await rlmesh(['up', '--config', file, '--run', runId, '--nats', SHARED_NATS_URL]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no-such-model/, r.stderr);
  assert.equal(existsSync(path.resolve('runs', runId)), false, 'no runs/<id> folder is left behind');
});
