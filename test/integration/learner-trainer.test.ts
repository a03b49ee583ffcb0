// The learner's Trainer when a step's checkpoint cannot be written (a full or failing disk), against the real NATS:
// the step is not counted as trained, the learner asks to be stopped once, and every later step or publish is
// refused, so no redelivered trajectory is acknowledged as trained while the disk does not hold it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src/engine/index.ts';
import { compileRunConfig } from '../../src/config/index.ts';
import { Learner, learnerOptionsFor, loadPolicy, rewardTrajectories, rolloutGroups, type RolloutRequest } from '../../src/actors/index.ts';
import type { TaskSpec } from '../../src/generated/rlmesh/v1/common.ts';
import { WeightStore } from '../../src/platform/nats/index.ts';
import { listTasks, toTaskSpec } from '../../src/tasks/index.ts';
import { LearnerStateStore } from '../../services/learner/state-store.ts';
import { Trainer } from '../../services/learner/trainer.ts';
import { useSharedNats } from '../fixtures/nats-session.ts';

const nats = useSharedNats('rlmesh-test-learner-trainer');

test('a step whose checkpoint cannot be written stops the learner: nothing counts as trained, later steps are refused', async () => {
  await initBackend('wasm');
  const names = await nats.newRun('ltr');
  const run = compileRunConfig({
    run_id: names.runId, mode: 'rlvr', student: { model: 'models/student' }, tasks: { suite: 'add:1-2' },
    rollout: { group_size: 2 }, learner: { steps: 3, batch_size: 4 }, objective: { name: 'grpo', params: {} },
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-learner-trainer-'));
  const policy = await loadPolicy('models/student');
  try {
    const requests = listTasks({ suite: 'add:1-2', split: 'train', limit: 2, seed: 2 }).map((t, i): RolloutRequest => ({
      runId: names.runId, groupId: `${names.runId}-g${i}`, task: toTaskSpec(t) as TaskSpec, groupSize: 2, workerId: 'test',
      sampling: { temperature: 1.0, topK: 0, topP: 1.0, maxNewTokens: 12, stopTokenIds: [], seed: 3 },
    }));
    const groups = rolloutGroups(policy, requests);
    for (const g of groups) rewardTrajectories(g, run.config.reward.weights);
    const trajectories = groups.flat();
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
