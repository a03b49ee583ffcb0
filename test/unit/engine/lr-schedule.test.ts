// Learning-rate schedules: warmup, constant, linear and cosine decay to a floor, by hand-computed values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRateAt } from '../../../src/engine/index.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('constant: the base rate at every step; warmup ramps linearly from base / warmup', () => {
  for (const s of [0, 5, 99]) close(learningRateAt(1e-3, s, 100), 1e-3);
  const w = { name: 'constant' as const, warmupSteps: 4, minRatio: 0 };
  assert.deepEqual([0, 1, 2, 3, 4].map((s) => learningRateAt(8, s, 10, w)), [2, 4, 6, 8, 8]);
});

test('linear decay over 10 steps: 1, 0.9, ..., 0.1 of the base (never 0 inside the run)', () => {
  const l = { name: 'linear' as const, warmupSteps: 0, minRatio: 0 };
  [1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1].forEach((r, s) => close(learningRateAt(2, s, 10, l), 2 * r));
});

test('cosine decay: base at the start, half way at the middle, floor respected, after warmup', () => {
  const c = { name: 'cosine' as const, warmupSteps: 2, minRatio: 0.1 };
  close(learningRateAt(1, 2, 12, c), 1); // first decaying step
  close(learningRateAt(1, 7, 12, c), 0.1 + 0.9 * 0.5); // progress 5/10 -> cos(pi/2) = 0
  close(learningRateAt(1, 12, 12, c), 0.1); // past the end: the floor
  assert.ok(learningRateAt(1, 11, 12, c) > 0.1 && learningRateAt(1, 11, 12, c) < learningRateAt(1, 10, 12, c));
});
