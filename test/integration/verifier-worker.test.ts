// The verifier's NATS worker as `rlmesh serve verifier` in a child process on the real NATS: a TrajectoryBatch on
// `rollouts` comes out as one TrajectoryBatch on `rewarded` with the rewards (run-config shaping applied) and a dedupe
// id derived from its trajectory ids; a trajectory without a task or with an unknown task id is dead-lettered on its
// own, as a batch of one with its reason, while the rest of its batch flows on. A redelivered batch is deduplicated.
// Each trajectory keeps its own trace: verifier.verify is a child of its trace_context and writes its own back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Trajectory, TrajectoryBatch } from '../../src/generated/rlmesh/v1/common.ts';
import {
  connectNats, deleteRun, Header, provisionRun, publishProto, runNames, TRAJECTORY_BATCH_TYPE, trajectoryBatchMsgId, type RunNames,
} from '../../src/platform/nats/index.ts';
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
    // the rollout worker's span for the group (a sampled W3C context)
    traceContext: { traceparent: `00-${TRACE_ID}-${ROLLOUT_SPAN}-01` },
  });
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const ROLLOUT_SPAN = '00f067aa0ba902b7';
const drain = (stream: string, consumer: string, count: number) => readMessages(js, stream, consumer, count, 10_000);

async function processedCount(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  const m = /rlmesh_verifier_worker_messages\{outcome="processed"[^}]*\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

let sent: Trajectory[];

test('a batch with malformed trajectories among good ones: the good ones rewarded in one message, each bad one dead-lettered alone with its reason', async () => {
  const [a, b, c, d, e, f] = tasks as [Task, Task, Task, Task, Task, Task];
  const wrong = (t: Task) => t.referenceSolution.replace(/<answer>.*<\/answer>/, '<answer>999999</answer>');
  sent = [
    trajectory('g/0', a, a.referenceSolution, 20),
    trajectory('g/1', b, wrong(b), 20),
    trajectory('g/2', undefined, 'no task at all'),
    trajectory('g/3', { ...c, taskId: 'nope/d1/train/5' }, c.referenceSolution),
    trajectory('g/4', d, d.referenceSolution, 60), // 12 tokens past 48: shaped by -0.75
    trajectory('g/5', e, ''),
    trajectory('g/6', f, f.referenceSolution, 20),
  ];
  await publishProto(js, names.stages.rollouts.subject, TrajectoryBatch, { trajectories: sent }, { msgId: trajectoryBatchMsgId(sent.map((t) => t.trajectoryId), 'rollout') });

  const [out] = await drain(names.stages.rewarded.stream, 'teacher', 1);
  const good = ['g/0', 'g/1', 'g/4', 'g/5', 'g/6'];
  assert.equal(out!.headers?.get(Header.msgId), trajectoryBatchMsgId(good, 'verifier'));
  assert.equal(out!.headers?.get(Header.type), TRAJECTORY_BATCH_TYPE);
  const rewarded = TrajectoryBatch.decode(out!.data).trajectories;
  assert.deepEqual(rewarded.map((t) => t.trajectoryId), good, 'in order, one message');
  const byId = new Map(rewarded.map((t) => [t.trajectoryId, t]));
  const reward = (id: string) => byId.get(id)!.reward!;
  const t0 = byId.get('g/0')!;
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
  for (const t of rewarded) {
    const tp = t.traceContext.traceparent ?? '';
    assert.match(tp, new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`), `${t.trajectoryId}: its own trace continues`);
    assert.ok(!tp.includes(ROLLOUT_SPAN), `${t.trajectoryId}: the context now names the verifier's span`);
  }

  const dead = await drain(names.stages.dead.stream, 'gateway', 2);
  const reasons = new Map<string, string>();
  for (const m of dead) {
    const batch = TrajectoryBatch.decode(m.data).trajectories;
    assert.equal(batch.length, 1, 'a dead-lettered trajectory travels alone');
    const id = batch[0]!.trajectoryId;
    assert.deepEqual(batch[0], sent.find((t) => t.trajectoryId === id), 'its original content');
    reasons.set(id, m.headers?.get(Header.deadReason) ?? '');
    assert.equal(m.headers?.get(Header.msgId), `${id}:verifier:dead`);
    assert.equal(m.headers?.get(Header.type), TRAJECTORY_BATCH_TYPE);
    assert.equal(m.headers?.get(Header.deadConsumer), 'verifier');
    assert.equal(m.headers?.get(Header.deadStream), names.stages.rollouts.stream);
    assert.equal(m.headers?.get(Header.deadSubject), names.stages.rollouts.subject);
    assert.equal(m.headers?.get(Header.deadDeliveries), '1');
  }
  assert.match(reasons.get('g/2')!, /^data: trajectory\.task: is required/);
  assert.match(reasons.get('g/3')!, /^data: trajectory\.task\.task_id: unknown task category "nope"/);

  // The same batch redelivered (a new rollouts msgId, same trajectories) is verified again, but its rewarded message
  // and its dead letters are dropped by their dedupe ids.
  const before = await processedCount();
  await publishProto(js, names.stages.rollouts.subject, TrajectoryBatch, { trajectories: sent }, { msgId: 'again:rollout' });
  for (let waited = 0; (await processedCount()) < before + 1; waited += 50) {
    assert.ok(waited < 20_000, 'the repeat is processed');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await jsm.streams.info(names.stages.rewarded.stream)).state.messages, 0, 'the repeat did not reach rewarded (the original was acked away)');
  assert.equal((await jsm.streams.info(names.stages.dead.stream)).state.messages, 2, 'nor were its bad trajectories dead-lettered twice');
  assert.equal((await jsm.streams.info(names.stages.rollouts.stream)).state.messages, 0, 'every rollouts message was acked');
});

test('after SIGTERM the worker exits 0; each trajectory\'s verifier.verify joins its own trace, the message has one process span', async () => {
  const code = await server.stop();
  assert.equal(code, 0, `stderr: ${server.stderr().slice(-1000)}`);
  const spans = readSpanFile(spanFile);
  const verify = spans.find((s) => s.name === 'verifier.verify' && s.attributes['rlmesh.trajectory_id'] === 'g/4');
  assert.ok(verify, `spans: ${[...new Set(spans.map((s) => s.name))].join(', ')}`);
  assert.equal(verify.attributes['rlmesh.run_id'], runId);
  assert.equal(verify.attributes['rlmesh.task_id'], tasks[3]!.taskId);
  assert.equal(verify.attributes['rlmesh.policy_version'], 3);
  assert.equal(verify.attributes['rlmesh.correct'], true);
  assert.equal(verify.attributes['messaging.message.delivery_count'], 1);
  assert.equal(verify.traceId, TRACE_ID, 'in the trajectory\'s trace');
  assert.equal(verify.parentSpanId, ROLLOUT_SPAN, 'a child of the span its trace_context named');
  const processSpans = spans.filter((s) => s.name === `process ${names.stages.rollouts.subject}`);
  assert.equal(processSpans.length, 2, 'one process span per message (the batch and its repeat)');
  assert.ok(processSpans.every((s) => s.kind === 'CONSUMER' && s.traceId !== TRACE_ID));
  // one span per trajectory per delivery: 7 + 7 (the repeat), nothing else per trajectory
  assert.equal(spans.filter((s) => s.name === 'verifier.verify').length, 14);
  assert.equal(spans.length, 16, `spans: ${spans.map((s) => s.name).join(', ')}`);
  const dead = spans.find((s) => s.name === 'verifier.verify' && s.attributes['rlmesh.trajectory_id'] === 'g/3');
  assert.equal(dead?.status.code, 'ERROR', 'the span of the dead-lettered trajectory records the error');
});
