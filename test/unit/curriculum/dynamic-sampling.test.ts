// DAPO dynamic sampling gate (ALGORITHMS.md 3.4): all-equal groups filtered, counters per batch, the
// generation-batch limit admitting the rest unfiltered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchFilters, DynamicSamplingFilter, groupValues, keepGroup } from '../../../src/curriculum/index.ts';
import { isRlmeshError } from '../../../src/errors.ts';

const members = (...correct: number[]) => correct.map((c) => ({ reward: { total: c ? 1.1 : 0.1, correct: c === 1 } }));

test('spec case: accuracies [1,1,1,1] dropped, [0,1,0,0] kept', () => {
  assert.equal(keepGroup([1, 1, 1, 1]), false);
  assert.equal(keepGroup([0, 0, 0, 0]), false);
  assert.equal(keepGroup([0, 1, 0, 0]), true);
  assert.equal(keepGroup([0.5]), false, 'a singleton group has no contrast');
});

test('group values by metric: correct as 0/1, reward as the total; unrewarded counts 0', () => {
  const g = [...members(1, 0), {}];
  assert.deepEqual(groupValues('correct', g), [1, 0, 0]);
  assert.deepEqual(groupValues('reward', g), [1.1, 0.1, 0]);
});

test('admits groups with contrast, filters all-equal ones, counts per batch', () => {
  const f = batchFilters['dapo-dynamic-sampling']!.build({}, 3);
  assert.equal(f.admit(members(1, 1)), false);
  assert.equal(f.admit(members(0, 1)), true);
  assert.equal(f.admit(members(0, 0)), false);
  assert.deepEqual(f.stats(), { seen: 3, filtered: 2, exhausted: false });
  assert.deepEqual(f.batchTaken(), { seen: 3, filtered: 2, exhausted: false });
  assert.deepEqual(f.stats(), { seen: 0, filtered: 0, exhausted: false });
});

test('metric "reward" keeps groups whose totals differ even when correctness agrees', () => {
  const f = new DynamicSamplingFilter({ metric: 'reward', max_gen_batches: 10 }, 1);
  const sameCorrectness = [{ reward: { total: 0.1, correct: false } }, { reward: { total: 0, correct: false } }];
  assert.equal(f.admit(sameCorrectness), true);
  assert.equal(new DynamicSamplingFilter({ metric: 'correct', max_gen_batches: 10 }, 1).admit(sameCorrectness), false);
});

test('after max_gen_batches generation batches without a full batch, groups are admitted unfiltered', () => {
  const f = new DynamicSamplingFilter({ metric: 'correct', max_gen_batches: 2 }, 2);
  for (let i = 0; i < 4; i++) assert.equal(f.admit(members(1, 1)), false, `group ${i} is inside the limit (2 batches x 2 groups)`);
  assert.equal(f.stats().exhausted, true);
  assert.equal(f.admit(members(0, 0)), true, 'past the limit');
  assert.deepEqual(f.batchTaken(), { seen: 5, filtered: 4, exhausted: true });
  assert.equal(f.admit(members(0, 0)), false, 'the next batch filters again');
  const unlimited = new DynamicSamplingFilter({ metric: 'correct', max_gen_batches: 0 }, 1);
  for (let i = 0; i < 100; i++) assert.equal(unlimited.admit(members(1, 1)), false);
  assert.deepEqual(unlimited.stats(), { seen: 100, filtered: 100, exhausted: false });
});

test('a batch size below one group is a config error naming learner.batch_size', () => {
  assert.throws(() => new DynamicSamplingFilter({ metric: 'correct', max_gen_batches: 1 }, 0), (e: unknown) => isRlmeshError(e) && e.field === 'learner.batch_size');
});
