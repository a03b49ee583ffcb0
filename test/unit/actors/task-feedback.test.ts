// The learner's per-group feedback for curricula (taskFeedback): |A| is the mean magnitude of the group-normalised
// GRPO advantage (ALGORITHMS.md 10, 11), so it does not shrink with the reward's scale and is 0 when rewards agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { taskFeedback } from '../../../src/actors/index.ts';
import { Trajectory } from '../../../src/generated/rlmesh/v1/common.ts';
import { grpoAdvantages } from '../../../src/objectives/index.ts';

function group(id: string, rewards: number[], correct: boolean[]): Trajectory[] {
  return rewards.map((total, i) => Trajectory.fromPartial({
    trajectoryId: `${id}/${i}`, groupId: id, taskId: 'add/d1/train/1', task: { category: 'add', difficulty: 1 },
    reward: { total, correct: correct[i] ?? false },
  }));
}

test('|A| of a group is the mean |group-normalised advantage|: scale-free, 0 when the rewards agree', () => {
  const half = [true, false, true, false, true, false, true, false];
  const [formatOnly, fourOfEight, oneOfEight, allSame] = taskFeedback('r', 1, [
    ...group('format-only', [0.1, 0, 0.1, 0, 0.1, 0, 0.1, 0], Array(8).fill(false)),
    ...group('four', [1.1, 0.1, 1.1, 0.1, 1.1, 0.1, 1.1, 0.1], half),
    ...group('one', [1.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], [true]),
    ...group('same', Array(8).fill(0.1), Array(8).fill(false)),
  ]);
  const expected = (r: number[]) => grpoAdvantages(r, r.map(() => 0), 'group').reduce((a, x) => a + Math.abs(x), 0) / r.length;
  assert.ok(Math.abs(fourOfEight!.meanAbsAdvantage - expected([1.1, 0.1, 1.1, 0.1, 1.1, 0.1, 1.1, 0.1])) < 1e-12);
  assert.ok(Math.abs(fourOfEight!.meanAbsAdvantage - Math.sqrt(7 / 8)) < 1e-3, `a 50/50 group of 8: |A| = sqrt(7/8) with the sample std (got ${fourOfEight!.meanAbsAdvantage})`);
  assert.ok(Math.abs(formatOnly!.meanAbsAdvantage - fourOfEight!.meanAbsAdvantage) < 1e-2, 'a 0.1 format bonus split 50/50 carries the same |A| as correctness split 50/50');
  assert.ok(oneOfEight!.meanAbsAdvantage > 0.5 && oneOfEight!.meanAbsAdvantage < fourOfEight!.meanAbsAdvantage, String(oneOfEight!.meanAbsAdvantage));
  assert.ok(allSame!.meanAbsAdvantage < 1e-9, String(allSame!.meanAbsAdvantage));
  assert.deepEqual([fourOfEight!.passRate, oneOfEight!.passRate], [0.5, 0.125]);
  // a group of one sample (distillation modes) has no group-relative advantage
  assert.equal(taskFeedback('r', 1, group('single', [1.1], [true]))[0]!.meanAbsAdvantage, 0);
});
