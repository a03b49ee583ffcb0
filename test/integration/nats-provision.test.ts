// provisionRun/deleteRun against the real NATS: streams and durable consumers as in docs/conventions.md,
// idempotent re-provisioning with new limits, teacher-less runs, bounded streams refusing publishes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RolloutTask } from '../../src/generated/rlmesh/v1/common.ts';
import { RlmeshError } from '../../src/errors.ts';
import { byteLimitIsSafe, deleteRun, provisionRun, publishProto, runNames, serverVersionOf, waitForRun, WeightStore } from '../../src/platform/nats/index.ts';
import { uniqueRunId } from '../fixtures/nats-server.ts';
import { useSharedNats } from '../fixtures/nats-session.ts';

const nats = useSharedNats('rlmesh-test-provision');


test('runNames follows the conventions table', () => {
  const n = runNames('my-run_2');
  assert.equal(n.stages.tasks.subject, 'rlmesh.my-run_2.tasks');
  assert.equal(n.stages.tasks.stream, 'RLMESH_MY_RUN_2_TASKS');
  assert.equal(n.stages.dead.stream, 'RLMESH_MY_RUN_2_DEAD');
  assert.equal(n.weightsBucket, 'rlmesh-weights-my-run_2');
  assert.equal(n.weightsObject(12), 'policy-v12.safetensors');
  assert.throws(() => runNames('bad.run'), (e: unknown) => e instanceof RlmeshError && e.field === 'run_id');
  assert.throws(() => runNames('x'.repeat(65)), (e: unknown) => e instanceof RlmeshError && e.field === 'run_id');
});

test('provisionRun creates every stream and durable consumer with the configured limits, idempotently', async () => {
  const runId = nats.newRunId('prov');
  const n = runNames(runId);
  await provisionRun(nats.jsm, runId, { maxDeliver: 4, ackWaitMs: 20_000, consumers: { rollout: { maxAckPending: 8 } } });
  await provisionRun(nats.jsm, runId, { maxDeliver: 4, ackWaitMs: 20_000, consumers: { rollout: { maxAckPending: 8 } } });
  const expected: Record<string, string | undefined> = {
    tasks: 'rollout', rollouts: 'verifier', rewarded: 'teacher', scored: 'learner',
    feedback: 'controller', metrics: 'gateway', weights: undefined, dead: 'gateway',
  };
  for (const [stage, durable] of Object.entries(expected)) {
    const { stream, subject } = n.stages[stage as keyof typeof n.stages];
    const si = await nats.jsm.streams.info(stream);
    assert.deepEqual(si.config.subjects, [subject]);
    assert.equal(si.config.retention, stage === 'dead' || stage === 'weights' ? 'limits' : 'workqueue', stage);
    assert.equal(si.config.discard, stage === 'weights' ? 'old' : 'new', stage);
    assert.ok(si.config.max_msgs > 0, `${stage} is bounded`);
    // bytes too, unless the server's byte count is unsafe for discard-new streams (planRun, byteLimitIsSafe)
    assert.ok(nats.nc.info?.version, 'the server announced its version');
    assert.equal(serverVersionOf(nats.jsm), nats.nc.info?.version, 'provisionRun reads the version of the server it talks to');
    const bytesBound = stage === 'weights' || byteLimitIsSafe(nats.nc.info?.version);
    assert.equal(si.config.max_bytes > 0, bytesBound, `${stage}: max_bytes ${si.config.max_bytes}`);
    assert.ok(si.config.duplicate_window >= 60e9, `${stage} dedupe window`);
    const consumers = [];
    for await (const ci of nats.jsm.consumers.list(stream)) consumers.push(ci);
    assert.deepEqual(consumers.map((c) => c.name), durable ? [durable] : [], stage);
    if (durable) {
      const c = consumers[0]!.config;
      assert.equal(c.ack_policy, 'explicit');
      assert.equal(c.max_deliver, 4);
      assert.equal(c.ack_wait, 20e9);
      assert.equal(c.filter_subject, subject);
      assert.equal(c.max_ack_pending, stage === 'tasks' ? 8 : 1000);
    }
  }
  // New limits on a second call update the existing consumers.
  await provisionRun(nats.jsm, runId, { maxDeliver: 6 });
  assert.equal((await nats.jsm.consumers.info(n.stages.scored.stream, 'learner')).config.max_deliver, 6);
  // Without a teacher, rewarded feeds the learner and the stale teacher consumer is gone.
  await provisionRun(nats.jsm, runId, { withTeacher: false });
  const names = [];
  for await (const ci of nats.jsm.consumers.list(n.stages.rewarded.stream)) names.push(ci.name);
  assert.deepEqual(names, ['learner']);
});

test('a full bounded stream refuses the publish (discard new) instead of dropping silently', async () => {
  const runId = nats.newRunId('full');
  const n = runNames(runId);
  await provisionRun(nats.jsm, runId, { maxMsgs: 2 });
  const t = RolloutTask.fromPartial({ dispatchId: 'a', groupSize: 1 });
  await publishProto(nats.js, n.stages.tasks.subject, RolloutTask, t, { msgId: '1:tasks' });
  await publishProto(nats.js, n.stages.tasks.subject, RolloutTask, t, { msgId: '2:tasks' });
  await assert.rejects(
    publishProto(nats.js, n.stages.tasks.subject, RolloutTask, t, { msgId: '3:tasks' }),
    (e: unknown) => e instanceof RlmeshError && e.category === 'transport' && /maximum messages/i.test(e.message),
  );
  assert.equal((await nats.jsm.streams.info(n.stages.tasks.stream)).state.messages, 2);
});

test('deleteRun removes the streams and the weights bucket', async () => {
  const runId = uniqueRunId('del');
  const n = runNames(runId);
  await provisionRun(nats.jsm, runId);
  await (await WeightStore.open(nats.js, runId)).put(1, new Uint8Array([1]));
  assert.equal(await deleteRun(nats.jsm, runId), 9);
  await assert.rejects(nats.jsm.streams.info(n.stages.tasks.stream));
  await assert.rejects(nats.jsm.streams.info(`OBJ_${n.weightsBucket}`));
  assert.equal(await deleteRun(nats.jsm, runId), 0);
});

test('waitForRun waits, saying so, until the gateway has provisioned the run', async () => {
  const runId = nats.newRunId('provwait');
  const said: string[] = [];
  let ready = false;
  const waiting = waitForRun(nats.jsm, runId, { log: (m) => said.push(m), pollMs: 20, logEveryMs: 100 }).then(() => { ready = true; });
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(ready, false, 'no stream yet: still waiting');
  assert.ok(said.some((m) => m.includes(`run ${runId}'s streams`) && m.includes('the gateway creates them')), said.join('\n'));
  await provisionRun(nats.jsm, runId);
  await waiting;
  assert.equal(ready, true);
});

test('stream replicas: a single server refuses more than one copy, and the error names replicas and says why', async () => {
  const runId = uniqueRunId('repl');
  try {
    await assert.rejects(provisionRun(nats.jsm, runId, { replicas: 3 }), (e: unknown) =>
      e instanceof RlmeshError && e.field === 'replicas' && /needs a clustered NATS; this server runs alone/.test(e.message));
    await assert.rejects(WeightStore.open(nats.js, runId, { replicas: 3 }), /replicas|clustered|cluster/i);
  } finally {
    await deleteRun(nats.jsm, runId);
  }
});
