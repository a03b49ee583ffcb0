// The protos compile for another language: scripts/python-protos.sh generates Python messages + gRPC stubs
// (installing Debian's python3-grpc-tools when missing; a failed install fails this test) and imports them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(root, 'scripts/python-protos.sh');

function run(env: NodeJS.ProcessEnv = {}): { status: number | null; out: string } {
  const r = spawnSync('bash', [script], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test('every proto generates importable Python messages and gRPC stubs', { timeout: 300_000 }, () => {
  const { status, out } = run();
  assert.equal(status, 0, out);
  const services = /python-protos: ok (\d+) files; services: (.*)/.exec(out);
  assert.ok(services, out);
  assert.equal(services[2], 'rlmesh.v1.LearnerUpdate rlmesh.v1.StudentRollout rlmesh.v1.TeacherScoring rlmesh.v1.VerifierReward');
});

test('a broken proto makes the script fail', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-protos-'));
  try {
    cpSync(path.join(root, 'proto'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'rlmesh/v1/broken.proto'), 'syntax = "proto3";\npackage rlmesh.v1;\nmessage Broken { NoSuchType x = 1; }\n');
    const { status, out } = run({ PROTO_DIR: dir });
    assert.notEqual(status, 0);
    assert.match(out, /NoSuchType/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
