// One contract for every curriculum: seeded determinism, identical resume from JSON state, empty arms never
// picked, indices in range, clear errors for unknown names and empty pools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCurriculum, curricula, restoreCurriculum, type Arm, type Curriculum, type CurriculumFeedback, type CurriculumSpec, type TaskPick } from '../../../src/curriculum/index.ts';
import { permute } from '../../../src/curriculum/permutation.ts';
import { isRlmeshError } from '../../../src/errors.ts';

const pool: Arm[] = [
  { category: 'add', difficulty: 1, size: 7 },
  { category: 'add', difficulty: 2, size: 0 }, // empty: must never be picked
  { category: 'chain', difficulty: 1, size: 5 },
  { category: 'chain', difficulty: 2, size: 6 },
  { category: 'sort', difficulty: 3, size: 0 }, // empty category
  { category: 'sort', difficulty: 4, size: 9 },
];

const samplers = Object.entries(curricula).filter(([, m]) => m.kind === 'sampler').map(([k]) => k);
const layers = Object.entries(curricula).filter(([, m]) => m.kind === 'layer').map(([k]) => ({ name: k }));
const specs: CurriculumSpec[] = samplers.map((name) => ({
  name,
  params: name === 'h1-horizon' ? { steps_per_horizon: 3 } : name === 'cures' ? { subsets: 3, steps_per_subset: 2 } : {},
  layers,
}));

/** Deterministic synthetic feedback: the learning signal depends on the task, not on the RNG. */
function feedbackFor(picks: TaskPick[]): CurriculumFeedback[] {
  return picks.map((p) => ({ ...p, samples: 4, passRate: ((p.index * 7 + p.difficulty) % 5) / 4, meanAbsAdvantage: ((p.index * 3) % 4) / 4 }));
}

function run(c: Curriculum, steps: number): unknown[] {
  const out: unknown[] = [];
  for (let s = 0; s < steps; s++) {
    const picks = c.next(6);
    out.push(picks, c.controls(), c.probabilities());
    c.update(feedbackFor(picks), s % 2 === 0 ? { heldoutEntropy: 1.5 - s * 0.05 } : {});
  }
  return out;
}

for (const spec of specs) {
  test(`${spec.name}: same seed -> same picks; another seed -> different picks`, () => {
    const a = run(createCurriculum(spec, { pool, seed: 11, totalSteps: 20 }), 12);
    const b = run(createCurriculum(spec, { pool, seed: 11, totalSteps: 20 }), 12);
    assert.deepEqual(a, b);
    const c = run(createCurriculum(spec, { pool, seed: 12, totalSteps: 20 }), 12);
    assert.notDeepEqual(a, c);
  });

  test(`${spec.name}: a JSON-serialised state resumes identically`, () => {
    const original = createCurriculum(spec, { pool, seed: 5, totalSteps: 20 });
    run(original, 7);
    const saved = JSON.stringify(original.state());
    const resumed = restoreCurriculum(JSON.parse(saved));
    assert.equal(resumed.step, original.step);
    assert.deepEqual(run(resumed, 9), run(original, 9));
    assert.deepEqual(resumed.state(), original.state());
  });

  test(`${spec.name}: never picks an empty arm; indices stay inside their arm`, () => {
    const c = createCurriculum(spec, { pool, seed: 3, totalSteps: 20 });
    const sizes = new Map(pool.map((a) => [`${a.category}/${a.difficulty}`, a.size]));
    for (let s = 0; s < 30; s++) {
      const picks = c.next(10);
      for (const p of picks) {
        const size = sizes.get(`${p.category}/${p.difficulty}`) ?? 0;
        assert.ok(size > 0, `picked empty arm ${p.category}/${p.difficulty}`);
        assert.ok(Number.isInteger(p.index) && p.index >= 0 && p.index < size, `index ${p.index} of ${size}`);
      }
      c.update(feedbackFor(picks));
    }
    const keys = c.probabilities().map((p) => p.key);
    assert.ok(!keys.some((k) => k.includes('add-d2') || k === 'sort-d3'), `empty arm in probabilities: ${keys}`);
  });
}

test('uniform draws every task of an arm once before repeating (shuffled, without replacement)', () => {
  const c = createCurriculum({ name: 'uniform' }, { pool: [{ category: 'add', difficulty: 1, size: 13 }], seed: 8 });
  const first = c.next(13).map((p) => p.index);
  assert.deepEqual([...first].sort((a, b) => a - b), [...Array(13).keys()]);
  assert.notDeepEqual(first, [...Array(13).keys()], 'order is shuffled');
  const second = c.next(13).map((p) => p.index);
  assert.deepEqual([...second].sort((a, b) => a - b), [...Array(13).keys()]);
  assert.notDeepEqual(second, first, 'each epoch reshuffles');
});

test('the keyed permutation is a bijection for awkward sizes', () => {
  for (const n of [1, 2, 3, 5, 17, 100, 1000, 4099]) {
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) seen.add(permute(i, n, 1234));
    assert.equal(seen.size, n);
    assert.ok([...seen].every((x) => x >= 0 && x < n));
  }
});

test('errors name the field: unknown curriculum, layer used as sampler, all-empty pool, bad arm', () => {
  const field = (f: string, re: RegExp) => (e: unknown) => isRlmeshError(e) && e.field === f && re.test(e.message);
  assert.throws(() => createCurriculum({ name: 'secc' }, { pool, seed: 0 }), field('curriculum.name', /unknown curriculum "secc"; allowed: uniform, sec/));
  assert.throws(() => createCurriculum({ name: 'tlts-budget' }, { pool, seed: 0 }), field('curriculum.name', /allowed/));
  assert.throws(() => createCurriculum({ name: 'uniform', layers: [{ name: 'sec' }] }, { pool, seed: 0 }), field('curriculum.layers.0.name', /unknown curriculum layer "sec"/));
  assert.throws(() => createCurriculum({ name: 'uniform' }, { pool: [{ category: 'add', difficulty: 1, size: 0 }], seed: 0 }), field('pool', /every arm is empty/));
  assert.throws(() => createCurriculum({ name: 'uniform' }, { pool: [{ category: 'add', difficulty: 1.5, size: 3 }], seed: 0 }), field('pool.0.difficulty', /integer/));
  assert.throws(() => createCurriculum({ name: 'sec', params: { alpha: 2 } }, { pool, seed: 0 }), field('curriculum.params.alpha', /Number must be <= 1/));
  assert.throws(() => createCurriculum({ name: 'uniform', layers: [{ name: 'tlts-budget', params: { budget: 3 } }] }, { pool, seed: 0 }), field('curriculum.layers.0.params.budget', /unknown key "budget"; allowed: start, final/));
});

test('malformed feedback is a data error naming the record and field; state is left untouched', () => {
  const c = createCurriculum({ name: 'sec' }, { pool, seed: 0 });
  const before = JSON.stringify(c.state());
  const ok = { category: 'add', difficulty: 1, samples: 4, passRate: 0.5, meanAbsAdvantage: 0.3 };
  const cases: Array<[Partial<CurriculumFeedback>, string]> = [
    [{ passRate: 1.5 }, 'feedback.1.passRate'],
    [{ samples: -1 }, 'feedback.1.samples'],
    [{ meanAbsAdvantage: Number.NaN }, 'feedback.1.meanAbsAdvantage'],
    [{ difficulty: 0.5 }, 'feedback.1.difficulty'],
    [{ index: -2 }, 'feedback.1.index'],
    [{ samples: 0 }, 'feedback.1.samples'],
    [{ meanAbsAdvantage: 1e308 }, 'feedback.1.meanAbsAdvantage'],
    [{ meanReward: Number.POSITIVE_INFINITY }, 'feedback.1.meanReward'],
    [{ step: -1 }, 'feedback.1.step'],
  ];
  for (const [patch, f] of cases) {
    assert.throws(() => c.update([ok, { ...ok, ...patch }]), (e: unknown) => isRlmeshError(e) && e.category === 'data' && e.field === f);
  }
  assert.equal(JSON.stringify(c.state()), before);
});
