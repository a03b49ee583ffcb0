// The verifier forwards a rollout's bytes with the encoded reward appended instead of re-encoding the trajectory:
// decoding the result must give exactly the trajectory with `reward` set, token and float arrays intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Trajectory, type Reward } from '../../../src/generated/rlmesh/v1/common.ts';
import { appendReward } from '../../../services/verifier/worker.ts';

test('received bytes + appended reward decode to the trajectory with that reward, nothing else changed', () => {
  const t = Trajectory.fromPartial({
    trajectoryId: 'g/3', runId: 'run-a', taskId: 'add/d2/train/7', groupId: 'g', sampleIndex: 3,
    task: { taskId: 'add/d2/train/7', category: 'add', difficulty: 2, params: { length_budget: '64' } },
    completionText: '<think>12+30=42</think><answer>42</answer>', completionTokenIds: [5, 9, 300, 2],
    samplingLogprobs: [-0.5, -1.25, -0.125, -2], modelLogprobs: [-0.5, -1, -0.25, -2], entropies: [0.5, 0.25, 1, 0.75],
    policyVersion: 4, groupSize: 8,
  });
  const reward: Reward = {
    total: 0.85, components: { correctness: 1, format: 0.1, shaping: -0.25 }, correct: true, parsedAnswer: '42', reason: '', formatOk: true,
  };
  const bytes = appendReward(Trajectory.encode(t).finish(), reward);
  const back = Trajectory.decode(bytes);
  assert.deepEqual(back, { ...t, reward });
  assert.deepEqual(Trajectory.encode(back).finish(), Trajectory.encode({ ...t, reward }).finish());
  // an all-default reward (wrong answer, no components) still reads back as present and zero
  const zero: Reward = { total: 0, components: {}, correct: false, parsedAnswer: '', reason: '', formatOk: false };
  assert.deepEqual(Trajectory.decode(appendReward(Trajectory.encode(t).finish(), zero)).reward, zero);
});
