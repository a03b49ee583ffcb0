// Schedules: h1 horizon (13), Train-Long-Think-Short budgets (9c), entropy-gated length (2), template augmentation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetAt, createCurriculum, horizonAt, lengthLadder } from '../../../src/curriculum/index.ts';

const close = (a: number, b: number, tol = 0.05) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b} (tol ${tol})`);
const chains = [1, 2, 3, 4, 5].map((d) => ({ category: 'chain', difficulty: d, size: 20 }));

test('h1 spec case: h = 1 + floor(step / 200) capped at 5', () => {
  const p = { min_horizon: 1, max_horizon: 5, steps_per_horizon: 200 };
  assert.deepEqual([0, 199, 200, 399, 400, 800, 999, 5000].map((s) => horizonAt(s, p)), [1, 1, 2, 2, 3, 5, 5, 5]);
});

test('h1 sampler draws only chains of the current horizon and advances with steps', () => {
  const c = createCurriculum({ name: 'h1-horizon', params: { steps_per_horizon: 2 } }, {
    pool: [...chains, { category: 'add', difficulty: 1, size: 10 }],
    seed: 1,
  });
  assert.ok(c.next(8).every((p) => p.category === 'chain' && p.difficulty === 1));
  c.update([]);
  c.update([]); // step 2
  assert.ok(c.next(8).every((p) => p.difficulty === 2));
  c.update([], { step: 100 });
  assert.ok(c.next(8).every((p) => p.difficulty === 5));
});

test('h1 skips a missing horizon (falls back to the largest available below it) and the adaptive variant', () => {
  const pool = [chains[0]!, { category: 'chain', difficulty: 2, size: 0 }, chains[2]!];
  const c = createCurriculum({ name: 'h1-horizon', params: { adaptive: true, advance_threshold: 0.5 } }, { pool, seed: 1 });
  assert.ok(c.next(4).every((p) => p.difficulty === 1));
  c.update([{ category: 'chain', difficulty: 1, samples: 8, passRate: 0.25, meanAbsAdvantage: 0.5 }]);
  assert.ok(c.next(4).every((p) => p.difficulty === 1), 'pass rate below threshold: stay');
  c.update([{ category: 'chain', difficulty: 1, samples: 8, passRate: 0.75, meanAbsAdvantage: 0.5 }]);
  // h = 2 has no tasks: draw from h = 1 still, never the empty arm
  assert.ok(c.next(4).every((p) => p.difficulty === 1));
  c.update([{ category: 'chain', difficulty: 1, samples: 8, passRate: 0.75, meanAbsAdvantage: 0.5 }]);
  assert.ok(c.next(4).every((p) => p.difficulty === 3));
});

test('h1 refuses a pool without the category, naming the field', () => {
  assert.throws(
    () => createCurriculum({ name: 'h1-horizon' }, { pool: [{ category: 'add', difficulty: 1, size: 3 }], seed: 0 }),
    (e: Error & { field?: string }) => e.field === 'curriculum.params.category' && /chain/.test(e.message),
  );
});

test('TLTS spec case: S0=256, Sf=87, n=3 over 600 steps -> 256, 178.6, 124.7, 87.0 every 150 steps', () => {
  const p = { start: 256, final: 87, decrements: 3, shape: 'exponential' as const };
  close(budgetAt(0, p, 600), 256);
  close(budgetAt(149, p, 600), 256);
  close(budgetAt(150, p, 600), 178.6);
  close(budgetAt(300, p, 600), 124.7);
  close(budgetAt(450, p, 600), 87.0);
  close(budgetAt(10_000, p, 600), 87.0);
  const lin = { ...p, shape: 'linear' as const };
  close(budgetAt(150, lin, 600), 256 - 169 / 3);
});

test('TLTS layer sets the rounded budget as a control, using learner.steps when total_steps is 0', () => {
  const c = createCurriculum({ name: 'uniform', layers: [{ name: 'tlts-budget' }] }, {
    pool: [{ category: 'add', difficulty: 1, size: 3 }],
    seed: 0,
    totalSteps: 600,
  });
  assert.deepEqual(c.controls(), { lengthBudget: 256 });
  c.update([], { step: 300 });
  assert.deepEqual(c.controls(), { lengthBudget: 125 });
});

test('entropy-gated length: grows while held-out entropy >= 0.5 x initial, then stops for good', () => {
  assert.deepEqual(lengthLadder({ start_length: 128, growth: 2, max_length: 1024 }), [128, 256, 512, 1024]);
  const c = createCurriculum({ name: 'uniform', layers: [{ name: 'entropy-gated-length', params: { steps_per_stage: 10, max_length: 1024 } }] }, {
    pool: [{ category: 'add', difficulty: 1, size: 3 }],
    seed: 0,
  });
  assert.deepEqual(c.controls(), { maxNewTokens: 128, needsHeldoutEntropy: true });
  c.update([], { step: 0, heldoutEntropy: 2.0 }); // initial student: H_min = 1.0
  assert.deepEqual(c.controls(), { maxNewTokens: 128 });
  c.update([], { step: 5, heldoutEntropy: 0.1 }); // mid-stage measurements do not gate
  c.update([], { step: 10 });
  assert.equal(c.controls().needsHeldoutEntropy, true);
  c.update([], { step: 10, heldoutEntropy: 1.2 });
  assert.equal(c.controls().maxNewTokens, 256);
  c.update([], { step: 20, heldoutEntropy: 0.9 }); // below H_min: stay at 256 and stop growing
  c.update([], { step: 40, heldoutEntropy: 1.9 });
  assert.deepEqual(c.controls(), { maxNewTokens: 256 });
});

test('template augmentation: random variants by seed, or cycling', () => {
  const pool = [{ category: 'add', difficulty: 1, size: 50 }];
  const r = createCurriculum({ name: 'uniform', layers: [{ name: 'template-augment', params: { variants: 3 } }] }, { pool, seed: 4 });
  const t = r.next(60).map((p) => p.templateIndex!);
  for (const v of [0, 1, 2]) assert.ok(t.filter((x) => x === v).length >= 10, `variant ${v} used ${t.filter((x) => x === v).length}/60`);
  const cyc = createCurriculum({ name: 'uniform', layers: [{ name: 'template-augment', params: { variants: 3, mode: 'cycle' } }] }, { pool, seed: 4 });
  assert.deepEqual(cyc.next(5).map((p) => p.templateIndex), [0, 1, 2, 0, 1]);
});
