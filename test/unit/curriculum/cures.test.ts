// CurES (ALGORITHMS.md 12): the spec's probability and posterior cases, quotas, subsets and resets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { betaMean, createCurriculum, curesProbabilities, curesQuota } from '../../../src/curriculum/index.ts';

const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b} (tol ${tol})`);

test('spec case: p = 0.5 and 0.9, tau = 0.1 -> [0.8808, 0.1192]; 3 correct of 4 -> p_hat 0.667', () => {
  const p = curesProbabilities([0.5, 0.9], 0.1);
  close(p[0]!, 0.8808);
  close(p[1]!, 0.1192);
  close(betaMean(3, 4), 0.6667);
  close(betaMean(0, 0), 0.5);
});

test('rollout quota is proportional to sqrt(p(1-p)) and padded to the worker multiple', () => {
  // sigma = [0.5, 0.3, 0]: 16 * [0.625, 0.375, 0] = [10, 6, 0]
  assert.deepEqual(curesQuota([0.5, 0.9, 1], 16), [10, 6, 0]);
  const q = curesQuota([0.5, 0.9, 0.7], 10, 4);
  assert.equal(q.reduce((a, b) => a + b, 0) % 4, 0);
  assert.ok(q[0]! >= q[2]! && q[2]! >= q[1]!, `quota order ${q}`);
});

test('no repeats inside a batch; picks stay inside the current subset', () => {
  const c = createCurriculum({ name: 'cures', params: { subsets: 4, steps_per_subset: 2 } }, {
    pool: [{ category: 'add', difficulty: 1, size: 40 }, { category: 'sub', difficulty: 2, size: 40 }],
    seed: 9,
  });
  const picks = c.next(20);
  const keys = picks.map((p) => `${p.category}/${p.difficulty}/${p.index}`);
  assert.equal(new Set(keys).size, 20);
  const again = new Set(c.next(20).map((p) => `${p.category}/${p.difficulty}/${p.index}`));
  assert.deepEqual([...again].sort(), [...new Set(keys)].sort(), 'subset of 20 prompts, drawn whole twice');
});

test('prompts near p = 0.5 get more mass than solved ones; estimates reset on the next subset', () => {
  const c = createCurriculum({ name: 'cures', params: { subsets: 2, steps_per_subset: 5, tau: 0.05 } }, {
    pool: [{ category: 'add', difficulty: 1, size: 4 }],
    seed: 5,
  });
  const first = c.next(2);
  // the first prompt is always solved (p_hat -> 41/42), the second is a coin flip
  const fb = [
    { ...first[0]!, samples: 40, passRate: 1, meanAbsAdvantage: 0 },
    { ...first[1]!, samples: 40, passRate: 0.5, meanAbsAdvantage: 0.9 },
  ];
  c.update(fb);
  let solved = 0;
  let mixed = 0;
  for (let i = 0; i < 200; i++) {
    // draw a single prompt per call so the weight shows directly
    const [p] = c.next(1);
    if (p!.index === first[0]!.index) solved++;
    if (p!.index === first[1]!.index) mixed++;
  }
  assert.ok(mixed > 3 * solved, `mixed ${mixed} vs solved ${solved}`);
  // step 5 starts subset 1: counts reset
  c.update([], { step: 5 });
  const probs = c.probabilities();
  assert.equal(probs.length, 1);
  const state = c.state();
  assert.deepEqual((state.sampler.data as { counts: object }).counts, {});
});

test('with a rollout budget, picks carry group sizes that sum to the budget (multiple of workers)', () => {
  const c = createCurriculum({ name: 'cures', params: { rollout_budget: 32, quota_multiple: 4 } }, {
    pool: [{ category: 'add', difficulty: 1, size: 100 }],
    seed: 2,
  });
  const picks = c.next(8);
  const total = picks.reduce((a, p) => a + (p.groupSize ?? 0), 0);
  assert.equal(total % 4, 0);
  assert.ok(Math.abs(total - 32) < 4, `total ${total}`);
});
