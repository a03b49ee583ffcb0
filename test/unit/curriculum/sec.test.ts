// SEC (ALGORITHMS.md 10): the spec's hand-computed case, the absent-arm decay, and a seeded learning shift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCurriculum, secProbabilities, secUpdate, type CurriculumFeedback, type TaskPick } from '../../../src/curriculum/index.ts';

const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b} (tol ${tol})`);

test('spec case: Q=[0,0], alpha=0.5, arm 0 |A|=0.8, arm 1 absent -> Q=[0.4,0], pi=[0.5987,0.4013]', () => {
  const q = secUpdate([0, 0], [0.8, undefined], 0.5, true);
  assert.deepEqual(q, [0.4, 0]);
  const p = secProbabilities(q, 1);
  close(p[0]!, 0.5987);
  close(p[1]!, 0.4013);
});

test('absent arms decay toward 0 (code quirk) unless decay_absent is off', () => {
  assert.deepEqual(secUpdate([1, 1], [undefined, 1], 0.5, true), [0.5, 1]);
  assert.deepEqual(secUpdate([1, 1], [undefined, 1], 0.5, false), [1, 1]);
});

test('the sampler applies the same update from feedback (rollout-weighted |A| mean per arm)', () => {
  const c = createCurriculum({ name: 'sec', params: { alpha: 0.5, tau: 1 } }, {
    pool: [{ category: 'add', difficulty: 1, size: 10 }, { category: 'sub', difficulty: 1, size: 10 }],
    seed: 1,
  });
  // two records for add-d1: 4 rollouts at 1.0 and 4 at 0.6 -> r = 0.8
  c.update([
    { category: 'add', difficulty: 1, samples: 4, passRate: 0.5, meanAbsAdvantage: 1.0 },
    { category: 'add', difficulty: 1, samples: 4, passRate: 0.5, meanAbsAdvantage: 0.6 },
  ]);
  const p = c.probabilities();
  assert.equal(p[0]!.key, 'add-d1');
  close(p[0]!.probability, 0.5987);
  close(p[1]!.probability, 0.4013);
});

test('with synthetic feedback SEC shifts toward the arm with learning signal (seeded, margin)', () => {
  const c = createCurriculum({ name: 'sec', params: { arm_key: 'category', alpha: 0.5, tau: 0.4 } }, {
    pool: [
      { category: 'add', difficulty: 1, size: 100 },
      { category: 'sort', difficulty: 3, size: 100 },
      { category: 'max', difficulty: 3, size: 100 },
    ],
    seed: 42,
  });
  // Only `add` gives non-zero |A| (mixed outcomes); the others are solved or impossible (identical rewards -> A = 0).
  const feedback = (picks: TaskPick[]): CurriculumFeedback[] =>
    picks.map((p) => ({ ...p, samples: 8, passRate: p.category === 'add' ? 0.5 : 1, meanAbsAdvantage: p.category === 'add' ? 0.8 : 0 }));
  let early = 0;
  let late = 0;
  for (let step = 0; step < 20; step++) {
    const picks = c.next(32);
    const share = picks.filter((p) => p.category === 'add').length / picks.length;
    if (step === 0) early = share;
    if (step >= 15) late += share / 5;
    c.update(feedback(picks));
  }
  const pAdd = c.probabilities().find((p) => p.key === 'add')!.probability;
  // Q(add) -> 0.8, others 0: pi(add) = e^2 / (e^2 + 2) = 0.787
  assert.ok(pAdd > 0.75, `pi(add) = ${pAdd}`);
  assert.ok(early < 0.5, `first batch share of add = ${early} (uniform start ~1/3)`);
  assert.ok(late > 0.65, `late share of add = ${late}`);
});
