// CEEH's per-question state in the learner (ALGORITHMS.md 9b) on the spec's hand-computed case: the asymmetric
// accuracy EMA (0.5 -> 0.55 on a batch at 0.75), the optimal-length penalty (L* 100, a correct answer of 150 tokens,
// beta 0.1: 1 -> 0.95), the hard set (EMA below the mean), and the state surviving a checkpoint (export/import).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Trajectory } from '../../../src/generated/rlmesh/v1/common.ts';
import { QuestionDifficulty } from '../../../src/actors/question-difficulty.ts';

const traj = (taskId: string, correct: boolean, length: number) => Trajectory.fromPartial({
  trajectoryId: `${taskId}/${length}/${String(correct)}`, taskId, completionTokenIds: Array(length).fill(5), reward: { total: correct ? 1 : 0, correct },
});

test('the spec case: EMA 0.5 -> 0.55 on a batch at 0.75; a correct 150-token answer with L* = 100 gets 1 - 0.05', () => {
  const q = new QuestionDifficulty();
  q.import({ accuracy: { x: 0.5 }, shortest: { x: 100 } });
  const batch = [traj('x', true, 150), traj('x', true, 100), traj('x', true, 120), traj('x', false, 90)];
  const shaped = q.shapeAndUpdate(batch, batch.map((t) => t.reward!.total), 0.1);
  assert.ok(Math.abs(shaped[0]! - 0.95) < 1e-12, String(shaped[0]));
  assert.equal(shaped[1], 1, 'the shortest correct answer is not penalised');
  assert.equal(shaped[3], 0, 'wrong answers are not shaped');
  assert.ok(Math.abs(q.export().accuracy.x! - 0.55) < 1e-12);
  // a batch at 0.25 moves the EMA down slowly (eta 0.05): 0.55 -> 0.535; no length penalty (not above the EMA)
  const down = [traj('x', true, 300), traj('x', false, 10), traj('x', false, 10), traj('x', false, 10)];
  assert.equal(q.shapeAndUpdate(down, down.map((t) => t.reward!.total), 0.1)[0], 1);
  assert.ok(Math.abs(q.export().accuracy.x! - 0.535) < 1e-12);
});

test('the hard set: questions whose EMA is below the mean EMA; unseen questions are not hard; the state round-trips', () => {
  const q = new QuestionDifficulty();
  q.import({ accuracy: { a: 0.2, b: 0.8, c: 0.6 }, shortest: {} });
  assert.deepEqual(q.hardFlags([traj('a', true, 5), traj('b', true, 5), traj('c', true, 5), traj('new', true, 5)]), [true, false, false, false]);
  const again = new QuestionDifficulty();
  again.import(q.export());
  assert.deepEqual(again.export(), q.export());
});
