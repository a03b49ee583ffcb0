// The learner's Trainer when a step's checkpoint cannot be written (a full or failing disk), against the real NATS:
// the step is not counted as trained, the learner asks to be stopped once, and every later step or publish is
// refused, so no redelivered trajectory is acknowledged as trained while the disk does not hold it. The learner's
// worker on a message's last delivery dead-letters each trajectory its step could not take, not the whole message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src/engine/index.ts';
import { compileRunConfig } from '../../src/config/index.ts';
import { Learner, learnerOptionsFor, loadPolicy } from '../../src/actors/index.ts';
import { Trajectory, TrajectoryBatch } from '../../src/generated/rlmesh/v1/common.ts';
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';
import { Header, publishTrajectoryBatch, WeightStore } from '../../src/platform/nats/index.ts';
import { LearnerStateStore } from '../../services/learner/state-store.ts';
import { Trainer } from '../../services/learner/trainer.ts';
import { startLearnerWorker } from '../../services/learner/worker.ts';
import { readMessages, useSharedNats } from '../fixtures/nats-session.ts';
import { sampledGroups } from '../fixtures/sampled-groups.ts';

const nats = useSharedNats('rlmesh-test-learner-trainer');

/** A GRPO run on add:1-2 in groups of 2 with these learner settings. */
const grpoRun = (runId: string, learner: Record<string, unknown>) => compileRunConfig({
  run_id: runId, mode: 'rlvr', student: { model: 'models/student' }, tasks: { suite: 'add:1-2' },
  rollout: { group_size: 2 }, learner, objective: { name: 'grpo', params: {} },
});

test('a step whose checkpoint cannot be written stops the learner: nothing counts as trained, later steps are refused', async () => {
  await initBackend('wasm');
  const names = await nats.newRun('ltr');
  const run = grpoRun(names.runId, { steps: 3, batch_size: 4 });
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-learner-trainer-'));
  const policy = await loadPolicy('models/student');
  try {
    const trajectories = sampledGroups(policy, run, { limit: 2, taskSeed: 2, groupSize: 2, sampleSeed: 3 }).flat();
    trajectories.forEach((t, k) => { t.reward!.total = k % 2; });
    const learner = new Learner(policy.model, learnerOptionsFor(run, policy.tokenizer.padId));
    const store = new LearnerStateStore(dir);
    store.save = async () => { throw new Error('ENOSPC: no space left on device, write'); };
    const fatal: Error[] = [];
    const trainer = new Trainer({
      js: nats.js, runId: names.runId, learner, tokenizer: policy.tokenizer, store, weights: await WeightStore.open(nats.js, names.runId),
      publishEvery: 1, checkpointEvery: 0, maxSteps: 3, log: () => undefined, onFatal: (e) => fatal.push(e),
    });
    const failure = /step 1 was trained but its checkpoint could not be written \(ENOSPC: no space left on device, write\); this learner stops/;
    await assert.rejects(trainer.step(trajectories), failure);
    assert.equal(fatal.length, 1);
    assert.match(fatal[0]!.message, failure);
    assert.equal(trainer.isBroken, true, 'the worker then acks nothing as "after the end" either');
    assert.equal(store.trained.size, 0, 'a redelivered trajectory of the step is not acknowledged as a duplicate');
    await assert.rejects(trainer.step(trajectories), failure);
    assert.equal(learner.step, 1, 'no further step trains');
    await assert.rejects(trainer.retryOutbox(), failure, 'the step\'s feedback and metrics are not published');
    assert.equal(fatal.length, 1, 'asked to stop once');
  } finally {
    policy.model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on a message\'s last delivery the learner dead-letters each trajectory a failing step could not take, and acks the message', async () => {
  await initBackend('wasm');
  const names = await nats.newRun('ltrlast', { maxDeliver: 1, withTeacher: false });
  const run = grpoRun(names.runId, { steps: 3, batch_size: 2 });
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-learner-last-'));
  const policy = await loadPolicy('models/student');
  const [group] = sampledGroups(policy, run, { limit: 1, taskSeed: 6, groupSize: 2, sampleSeed: 1 });
  const learner = new Learner(policy.model, learnerOptionsFor(run, policy.tokenizer.padId));
  const trainer = new Trainer({
    js: nats.js, runId: names.runId, learner, tokenizer: policy.tokenizer, store: new LearnerStateStore(dir),
    weights: await WeightStore.open(nats.js, names.runId), publishEvery: 1, checkpointEvery: 0, maxSteps: 3, log: () => undefined,
  });
  trainer.step = async () => { throw new RlmeshError(ErrorCategory.transport, 'object store unreachable'); };
  const worker = startLearnerWorker({ js: nats.js, runId: names.runId, trainer, batchSize: 2, withTeacher: false, onError: () => undefined });
  try {
    await publishTrajectoryBatch(nats.js, names.stages.rewarded.subject, group!.map((t) => ({ id: t.trajectoryId, data: Trajectory.encode(t).finish() })), { stage: 'verifier' });
    const dead = await readMessages(nats.js, names.stages.dead.stream, 'gateway', 2, 20_000);
    const ids = dead.map((m) => TrajectoryBatch.decode(m.data).trajectories.map((t) => t.trajectoryId));
    assert.deepEqual(ids.map((x) => x.length), [1, 1], 'one dead letter per trajectory');
    assert.deepEqual(ids.flat().sort(), group!.map((t) => t.trajectoryId).sort());
    for (const m of dead) assert.match(m.headers!.get(Header.deadReason), /object store unreachable/);
    for (let waited = 0; (await nats.jsm.streams.info(names.stages.rewarded.stream)).state.messages > 0 && waited < 5000; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await nats.jsm.streams.info(names.stages.rewarded.stream)).state.messages, 0, 'the message was acked');
    assert.equal(await readMessages(nats.js, names.stages.dead.stream, 'gateway', 1, 1500).then(() => 'more', () => 'none'), 'none', 'no dead letter of the whole message');
  } finally {
    await worker.stop();
    policy.model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('steps are checked in the queue: trajectories trained meanwhile are skipped as duplicates, a step after the last one is refused', async () => {
  await initBackend('wasm');
  const names = await nats.newRun('ltrq');
  const run = grpoRun(names.runId, { steps: 2, batch_size: 4, lr_schedule: 'cosine' });
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-learner-queue-'));
  const policy = await loadPolicy('models/student');
  try {
    const groups = sampledGroups(policy, run, { limit: 4, taskSeed: 8, groupSize: 2, sampleSeed: 3 });
    groups.flat().forEach((t, k) => { t.reward!.total = k % 2; });
    const [first, second] = [groups.slice(0, 2).flat(), groups.slice(2).flat()];
    const learner = new Learner(policy.model, learnerOptionsFor(run, policy.tokenizer.padId));
    const events: Array<Record<string, number>> = [];
    const trainer = new Trainer({
      js: nats.js, runId: names.runId, learner, tokenizer: policy.tokenizer, store: new LearnerStateStore(dir),
      weights: await WeightStore.open(nats.js, names.runId), publishEvery: 1, checkpointEvery: 0, maxSteps: 2, log: () => undefined,
      // held-out entropy at step 1 and every 5 steps (none at step 2); accuracy only at the end (every 0)
      heldout: { every: 0, entropyEvery: 5, measure: () => ({ accuracy: 0.5, entropy: 1.25 }) },
      onStep: (_o, e) => { events.push(e.values); },
    });
    // the NATS worker queues trajectories a gRPC Step queued first: it trains none of them again
    const [a, b] = await Promise.all([trainer.step(first), trainer.step(first, [], false, true)]);
    assert.equal(a.used.length, 4);
    assert.equal(b.used.length, 0);
    assert.equal(trainer.duplicates, 4);
    assert.equal(learner.step, 1);
    assert.equal((await trainer.step(second)).used.length, 4);
    assert.deepEqual(events.map((v) => [v.heldout_entropy, v.heldout_accuracy]), [[1.25, undefined], [undefined, undefined]], 'the entropy-gated length curriculum\'s measurement rides on the step\'s metrics');
    // the cosine schedule reaches 0 at the end: a further step is refused by name, not run with lr 0
    await assert.rejects(trainer.step(second), (e: unknown) => e instanceof RlmeshError && e.field === 'learner.steps');
    assert.equal(learner.step, 2);
  } finally {
    policy.model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
