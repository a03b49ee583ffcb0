// DUMP (ALGORITHMS.md 11): the spec's UCB case, the sliding window, and a seeded learning shift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCurriculum, dumpUcb, softmax, type CurriculumFeedback, type TaskPick } from '../../../src/curriculum/index.ts';

const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b} (tol ${tol})`);

test('spec case: mu=[0.5,0.2], n=[10,0] -> UCB=[1.1603,2.3899], probs=[4.6e-6, 0.99999]', () => {
  const ucb = dumpUcb([0.5, 0.2], [10, 0], 1);
  close(ucb[0]!, 1.1603);
  close(ucb[1]!, 2.3899);
  const p = softmax(ucb, 0.1);
  close(p[0]!, 4.6e-6, 1e-6);
  close(p[1]!, 0.99999, 1e-5);
});

test('the sampler reproduces the spec case from feedback', () => {
  const c = createCurriculum({ name: 'dump' }, {
    pool: [{ category: 'add', difficulty: 1, size: 5 }, { category: 'sub', difficulty: 1, size: 5 }],
    seed: 3,
  });
  c.update([
    { category: 'add', difficulty: 1, samples: 5, passRate: 0.5, meanAbsAdvantage: 0.7 },
    { category: 'add', difficulty: 1, samples: 5, passRate: 0.5, meanAbsAdvantage: 0.3 },
  ]);
  // add: window mean 0.5 over 10 rollouts; sub: nothing yet (mu 0, n 0)
  const p = c.probabilities();
  const expected = softmax(dumpUcb([0.5, 0], [10, 0], 1), 0.1);
  close(p[0]!.probability, expected[0]!, 1e-9);
  close(p[1]!.probability, expected[1]!, 1e-9);
});

test('the window keeps only the last `window` rollouts', () => {
  const c = createCurriculum({ name: 'dump', params: { window: 4, c: 0 } }, {
    pool: [{ category: 'add', difficulty: 1, size: 5 }, { category: 'sub', difficulty: 1, size: 5 }],
    seed: 3,
  });
  c.update([{ category: 'add', difficulty: 1, samples: 4, passRate: 0.5, meanAbsAdvantage: 1 }]);
  c.update([{ category: 'add', difficulty: 1, samples: 2, passRate: 0.5, meanAbsAdvantage: 0 }]);
  // window [1,1,0,0] -> mu 0.5; c = 0 -> UCB = [0.5, 0]
  const p = c.probabilities();
  close(p[0]!.probability, softmax([0.5, 0], 0.1)[0]!, 1e-9);
});

test('with synthetic feedback DUMP shifts toward the distribution with learning signal (seeded, margin)', () => {
  const c = createCurriculum({ name: 'dump' }, {
    pool: [
      { category: 'add', difficulty: 1, size: 100 },
      { category: 'sort', difficulty: 3, size: 100 },
      { category: 'max', difficulty: 3, size: 100 },
    ],
    seed: 42,
  });
  const feedback = (picks: TaskPick[]): CurriculumFeedback[] =>
    picks.map((p) => ({ ...p, samples: 8, passRate: 0.5, meanAbsAdvantage: p.category === 'add' ? 0.8 : 0.05 }));
  let late = 0;
  for (let step = 0; step < 30; step++) {
    const picks = c.next(32);
    if (step >= 25) late += picks.filter((p) => p.category === 'add').length / picks.length / 5;
    c.update(feedback(picks));
  }
  const pAdd = c.probabilities().find((p) => p.key === 'add')!.probability;
  assert.ok(pAdd > 0.8, `p(add) = ${pAdd}`);
  assert.ok(late > 0.7, `late share of add = ${late}`);
});
