// What the learner refuses before training (checkTrajectory, Learner.check): each bad field is a data error naming it,
// so the NATS worker dead-letters that trajectory alone instead of failing (and redelivering) its whole batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTrajectory, objectiveUsesRewards, teacherNeeds } from '../../../src/actors/index.ts';
import { Trajectory } from '../../../src/generated/rlmesh/v1/common.ts';
import { ErrorCategory, RlmeshError } from '../../../src/errors.ts';

const V = 8, P = 64;
const good = Trajectory.fromPartial({
  trajectoryId: 'g/0', promptTokenIds: [1, 3], completionTokenIds: [4, 5, 2], samplingLogprobs: [-1, -0.5, -0.2], entropies: [1, 0.5, 0.1],
  teacher: { logprobs: [-0.9, -0.4, -0.1], fullLogprobs: { shape: [3, V], data: Array(3 * V).fill(-Math.log(V)) } },
  reward: { total: 1, components: { correctness: 1 }, correct: true, parsedAnswer: '7', reason: '', formatOk: true },
});
const full = { tokenLogprobs: true, full: true };

function refusedField(t: Trajectory, rewards = false): string | undefined {
  try {
    checkTrajectory(t, full, V, P, rewards);
  } catch (e) {
    assert.ok(e instanceof RlmeshError && e.category === ErrorCategory.data, String(e));
    return e.field;
  }
  return undefined;
}

test('a well-formed trajectory passes; each bad per-token array or reward is refused naming its field', () => {
  assert.equal(refusedField(good, true), undefined);
  assert.equal(refusedField({ ...good, entropies: [] }), undefined, 'entropies are optional');
  assert.equal(refusedField({ ...good, entropies: [1, NaN, 0] }), 'entropies');
  assert.equal(refusedField({ ...good, entropies: [1] }), 'entropies');
  assert.equal(refusedField({ ...good, reward: { ...good.reward!, total: NaN } }), 'reward.total');
  assert.equal(refusedField({ ...good, reward: { ...good.reward!, total: Infinity } }), 'reward.total');
  const data = [...good.teacher!.fullLogprobs!.data];
  data[5] = NaN;
  assert.equal(refusedField({ ...good, teacher: { ...good.teacher!, fullLogprobs: { shape: [3, V], data } } }), 'teacher.full_logprobs');
});

test('a missing reward is refused only where the objective learns from rewards', () => {
  const noReward = { ...good, reward: undefined };
  assert.equal(refusedField(noReward, false), undefined);
  assert.equal(refusedField(noReward, true), 'reward');
  assert.equal(objectiveUsesRewards('grpo'), true);
  assert.equal(objectiveUsesRewards('dr-grpo'), true);
  assert.equal(objectiveUsesRewards('opd-reverse-kl'), false);
  assert.equal(objectiveUsesRewards('opd-reverse-kl', { with_env_reward: true }), true, 'OPD + verifier reward (mode opd+rlvr)');
  assert.equal(objectiveUsesRewards('gkd-jsd'), false);
});

test('TIP asks the teacher for full distributions whatever the objective needs (opd-reverse-kl alone needs token log-probs)', () => {
  assert.deepEqual(teacherNeeds('opd-reverse-kl', {}), { tokenLogprobs: true, full: false });
  assert.deepEqual(teacherNeeds('opd-reverse-kl', {}, 'tip'), { tokenLogprobs: true, full: true });
  assert.deepEqual(teacherNeeds('grpo', {}, 'top-entropy'), { tokenLogprobs: false, full: false });
});
