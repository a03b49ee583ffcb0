// DAPO dynamic sampling filter (ALGORITHMS.md 3.4): drop all-equal groups, fill, truncate, give up at the limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchFilters, DynamicSamplingFilter, keepGroup } from '../../../src/curriculum/index.ts';
import { isRlmeshError } from '../../../src/errors.ts';

test('spec case: accuracies [1,1,1,1] dropped, [0,1,0,0] kept', () => {
  assert.equal(keepGroup([1, 1, 1, 1]), false);
  assert.equal(keepGroup([0, 0, 0, 0]), false);
  assert.equal(keepGroup([0, 1, 0, 0]), true);
  assert.equal(keepGroup([0.5]), false, 'a singleton group has no contrast');
});

test('accumulates valid groups across generation batches until full, then truncates', () => {
  const f = batchFilters['dapo-dynamic-sampling']!.build({}, 3);
  f.offer([{ values: [1, 1], item: 'a' }, { values: [0, 1], item: 'b' }]);
  assert.equal(f.full, false);
  f.offer([{ values: [0, 0], item: 'c' }, { values: [1, 0], item: 'd' }]);
  assert.equal(f.full, false);
  f.offer([{ values: [0.2, 0.9], item: 'e' }, { values: [0, 1], item: 'f' }]);
  assert.equal(f.full, true);
  assert.deepEqual(f.take().map((g) => g.item), ['b', 'd', 'e']);
  assert.deepEqual(f.stats(), { kept: 0, seen: 0, dropped: 0 });
});

test('gives up with a data error naming max_gen_batches when the limit passes without a full batch', () => {
  const f = new DynamicSamplingFilter({ metric: 'correct', max_gen_batches: 2 }, 2);
  f.offer([{ values: [1, 1], item: 1 }, { values: [0, 1], item: 2 }]);
  assert.throws(
    () => f.offer([{ values: [0, 0], item: 3 }, { values: [1, 1], item: 4 }]),
    (e: unknown) => isRlmeshError(e) && e.field === 'batch_filter.params.max_gen_batches' && e.category === 'data',
  );
  const unlimited = new DynamicSamplingFilter({ metric: 'correct', max_gen_batches: 0 }, 1);
  for (let i = 0; i < 100; i++) unlimited.offer([{ values: [1, 1], item: i }]);
  assert.equal(unlimited.stats().dropped, 100);
});

test('state round-trips', () => {
  const f = new DynamicSamplingFilter<string>({ metric: 'reward', max_gen_batches: 10 }, 2);
  f.offer([{ values: [0, 1], item: 'x' }, { values: [1, 1], item: 'y' }]);
  const g = DynamicSamplingFilter.restore<string>(f.params, 2, JSON.parse(JSON.stringify(f.state())));
  g.offer([{ values: [0, 2], item: 'z' }]);
  assert.deepEqual(g.take().map((x) => x.item), ['x', 'z']);
});
