// The verifier's NATS worker as `rlmesh serve verifier` in a child process on the real NATS: trajectories on
// `rollouts` come out on `rewarded` with their rewards (run-config shaping applied) and `<id>:verifier` dedupe ids;
// a trajectory without a task or with an unknown task id is dead-lettered with its reason while later ones flow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { connectNats, deleteRun, Header, provisionRun, publishProto, runNames, type RunNames } from '../../src/platform/nats/index.ts';
import { readSpanFile } from '../../src/platform/telemetry/index.ts';
import { listTasks, toTaskSpec, type Task } from '../../src/tasks/index.ts';
import { SHARED_NATS_URL, uniqueRunId } from '../fixtures/nats-server.ts';
import { readMessages } from '../fixtures/nats-session.ts';
import { serveVerifier, type ServedActor } from './verifier-serve.ts';

let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let server: ServedActor;
let names: RunNames;
let spanFile: string;
const runId = uniqueRunId('vworker');
const tasks = listTasks({ suite: 'add:1-2,sort:3', limit: 6, seed: 11 });

before(async () => {
  nc = await connectNats({ servers: SHARED_NATS_URL, name: 'rlmesh-test-verifier-worker' });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await provisionRun(jsm, runId);
  names = runNames(runId);
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-verifier-'));
  const config = path.join(dir, 'rlvr.yaml');
  // overlong shaping: expected length 48, penalty -(len - 48) / 16 past it
  writeFileSync(config, 'mode: rlvr\nreward_shaping:\n  - { name: overlong, params: { max_length: 64, buffer: 16, kappa: 1.0 } }\n');
  spanFile = path.join(dir, 'spans.jsonl');
  server = await serveVerifier(['--nats', SHARED_NATS_URL, '--run', runId, '--config', config], { RLMESH_SPAN_FILE: spanFile });
});

after(async () => {
  await server?.stop();
  await deleteRun(jsm, runId);
  await nc.close();
});

function trajectory(id: string, task: Task | undefined, completion: string, tokens = completion.length): Trajectory {
  return Trajectory.fromPartial({
    trajectoryId: id, runId, taskId: task?.taskId ?? '', groupId: 'g', task: task && toTaskSpec(task), completionText: completion,
    completionTokenIds: Array.from({ length: tokens }, () => 5), policyVersion: 3,
  });
}

const drain = (stream: string, consumer: string, count: number) => readMessages(js, stream, consumer, count, 10_000);

async function processedCount(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  const m = /rlmesh_verifier_worker_messages\{outcome="processed"[^}]*\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

test('rollouts in -> rewarded out with rewards, shaping and dedupe ids; bad trajectories dead-lettered with reasons', async () => {
  const [a, b, c, d, e, f] = tasks as [Task, Task, Task, Task, Task, Task];
  const wrong = (t: Task) => t.referenceSolution.replace(/<answer>.*<\/answer>/, '<answer>999999</answer>');
  const sent = [
    trajectory('g/0', a, a.referenceSolution, 20),
    trajectory('g/1', b, wrong(b), 20),
    trajectory('g/2', undefined, 'no task at all'),
    trajectory('g/3', { ...c, taskId: 'nope/d1/train/5' }, c.referenceSolution),
    trajectory('g/4', d, d.referenceSolution, 60), // 12 tokens past 48: shaped by -0.75
    trajectory('g/5', e, ''),
    trajectory('g/6', f, f.referenceSolution, 20),
  ];
  for (const t of sent) await publishProto(js, names.stages.rollouts.subject, Trajectory, t, { msgId: `${t.trajectoryId}:rollout` });

  const out = await drain(names.stages.rewarded.stream, 'teacher', 5);
  const byId = new Map(out.map((m) => [Trajectory.decode(m.data).trajectoryId, m]));
  assert.deepEqual([...byId.keys()].sort(), ['g/0', 'g/1', 'g/4', 'g/5', 'g/6']);
  for (const [id, m] of byId) {
    assert.equal(m.headers?.get(Header.msgId), `${id}:verifier`);
    assert.equal(m.headers?.get(Header.type), 'rlmesh.v1.Trajectory');
  }
  const reward = (id: string) => Trajectory.decode(byId.get(id)!.data).reward!;
  const t0 = Trajectory.decode(byId.get('g/0')!.data);
  assert.equal(t0.policyVersion, 3, 'the rest of the trajectory is kept');
  assert.equal(t0.completionTokenIds.length, 20);
  assert.equal(reward('g/0').correct, true);
  assert.ok(Math.abs(reward('g/0').total - 1.1) < 1e-9, `g/0 total ${reward('g/0').total}`);
  assert.equal(reward('g/0').components.shaping, 0, 'under the overlong threshold: no shaping');
  assert.equal(reward('g/1').correct, false);
  assert.ok(Math.abs(reward('g/1').total - 0.1) < 1e-9);
  assert.equal(reward('g/4').correct, true);
  assert.ok(Math.abs(reward('g/4').components.shaping! + 0.75) < 1e-9, `shaping ${reward('g/4').components.shaping}`);
  assert.ok(Math.abs(reward('g/4').total - (1.1 - 0.75)) < 1e-9, `g/4 total ${reward('g/4').total}`);
  assert.equal(reward('g/5').total, 0);
  assert.match(reward('g/5').reason, /empty/);
  assert.equal(reward('g/6').correct, true, 'trajectories after the dead-lettered ones still flow');

  const dead = await drain(names.stages.dead.stream, 'gateway', 2);
  const reasons = new Map(dead.map((m) => [Trajectory.decode(m.data).trajectoryId, m.headers?.get(Header.deadReason) ?? '']));
  assert.match(reasons.get('g/2')!, /^data: trajectory\.task: is required/);
  assert.match(reasons.get('g/3')!, /^data: trajectory\.task\.task_id: unknown task category "nope"/);
  for (const m of dead) assert.equal(m.headers?.get(Header.deadConsumer), 'verifier');

  // A redelivered rollout (new rollouts msgId, same trajectory) is verified again but dropped by rewarded's dedupe.
  const before = await processedCount();
  await publishProto(js, names.stages.rollouts.subject, Trajectory, sent[0]!, { msgId: 'g/0:rollout-again' });
  for (let waited = 0; (await processedCount()) < before + 1; waited += 50) {
    assert.ok(waited < 20_000, 'the repeat is processed');
    await new Promise((r) => setTimeout(r, 50));
  }
  const info = await jsm.streams.info(names.stages.rewarded.stream);
  assert.equal(info.state.messages, 0, 'the repeat did not reach rewarded (the 5 originals were acked away)');
  const rollouts = await jsm.streams.info(names.stages.rollouts.stream);
  assert.equal(rollouts.state.messages, 0, 'every rollout was acked or dead-lettered');
});

test('after SIGTERM the worker exits 0 and its spans chain process rollouts -> verifier.verify -> publish rewarded', async () => {
  const code = await server.stop();
  assert.equal(code, 0, `stderr: ${server.stderr().slice(-1000)}`);
  const spans = readSpanFile(spanFile);
  const verify = spans.find((s) => s.name === 'verifier.verify' && s.attributes['rlmesh.trajectory_id'] === 'g/4');
  assert.ok(verify, `spans: ${[...new Set(spans.map((s) => s.name))].join(', ')}`);
  assert.equal(verify.attributes['rlmesh.run_id'], runId);
  assert.equal(verify.attributes['rlmesh.task_id'], tasks[3]!.taskId);
  assert.equal(verify.attributes['rlmesh.policy_version'], 3);
  assert.equal(verify.attributes['rlmesh.correct'], true);
  const parent = spans.find((s) => s.spanId === verify.parentSpanId);
  assert.equal(parent?.name, `process ${names.stages.rollouts.subject}`);
  const publish = spans.find((s) => s.parentSpanId === verify.spanId);
  assert.equal(publish?.name, `publish ${names.stages.rewarded.subject}`);
  assert.equal(publish?.attributes['messaging.message.id'], 'g/4:verifier');
  const dead = spans.find((s) => s.name === 'verifier.verify' && s.attributes['rlmesh.trajectory_id'] === 'g/3');
  assert.equal(dead?.status.code, 'ERROR', 'the span of the dead-lettered trajectory records the error');
});
