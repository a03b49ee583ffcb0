// Evaluation metrics: pass@k against brute-force enumeration of k-subsets, Avg@k, accuracy, breakdowns, table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateSamples, formatEvalTable, passAtK, type GradedSample } from '../../../src/tasks/index.ts';
import { RlmeshError } from '../../../src/errors.ts';

/** Fraction of all k-subsets of n samples (c of them correct) containing at least one correct one. */
function bruteForcePassAtK(n: number, c: number, k: number): number {
  const correct = (i: number): boolean => i < c;
  let hits = 0;
  let total = 0;
  const choose = (start: number, left: number, any: boolean): void => {
    if (left === 0) {
      total++;
      if (any) hits++;
      return;
    }
    for (let i = start; i <= n - left; i++) choose(i + 1, left - 1, any || correct(i));
  };
  choose(0, k, false);
  return hits / total;
}

test('pass@k equals brute-force enumeration for every n <= 10', () => {
  for (let n = 1; n <= 10; n++) {
    for (let c = 0; c <= n; c++) {
      for (let k = 1; k <= n; k++) {
        const got = passAtK(n, c, k);
        const want = bruteForcePassAtK(n, c, k);
        assert.ok(Math.abs(got - want) < 1e-12, `n=${n} c=${c} k=${k}: ${got} vs ${want}`);
      }
    }
  }
});

test('pass@k stays finite and exact where binomials overflow doubles', () => {
  // C(2000, 1000) overflows a double; the product form does not need it
  const v = passAtK(2000, 1, 1000);
  assert.ok(Math.abs(v - 0.5) < 1e-12, String(v));
  assert.equal(passAtK(2000, 0, 1000), 0);
  assert.equal(passAtK(2000, 1500, 1000), 1);
  assert.throws(() => passAtK(3, 1, 4), RlmeshError);
});

test('report: accuracy, Avg@k, pass@k, lengths and breakdowns', () => {
  const s = (taskId: string, category: string, difficulty: number, correct: boolean, length: number): GradedSample => ({
    taskId,
    category,
    difficulty,
    correct,
    length,
  });
  const samples = [
    // add/d1: task A 2/2 correct, task B 0/2
    s('A', 'add', 1, true, 10), s('A', 'add', 1, true, 12),
    s('B', 'add', 1, false, 20), s('B', 'add', 1, false, 30),
    // sort/d3: task C 1/4 correct
    s('C', 'sort', 3, true, 5), s('C', 'sort', 3, false, 5), s('C', 'sort', 3, false, 5), s('C', 'sort', 3, false, 5),
  ];
  const r = evaluateSamples(samples, [1, 2]);
  assert.equal(r.overall.tasks, 3);
  assert.equal(r.overall.samples, 8);
  assert.equal(r.overall.accuracy, 3 / 8);
  assert.ok(Math.abs(r.overall.avgAtK - (1 + 0 + 0.25) / 3) < 1e-12);
  // pass@2: A = 1, B = 0, C = 1 - C(3,2)/C(4,2) = 0.5
  assert.ok(Math.abs(r.overall.passAtK[2]! - 1.5 / 3) < 1e-12);
  assert.ok(Math.abs(r.overall.passAtK[1]! - r.overall.avgAtK) < 1e-12); // pass@1 == Avg@k
  assert.equal(r.overall.meanLength, 92 / 8);
  assert.equal(r.byCategory.add!.accuracy, 0.5);
  assert.equal(r.byCategory.sort!.passAtK[2], 0.5);
  assert.deepEqual(Object.keys(r.byCategoryDifficulty), ['add/d1', 'sort/d3']);
  assert.deepEqual(Object.keys(r.byDifficulty), ['1', '3']);
  assert.throws(() => evaluateSamples(samples, [3]), (e: unknown) => e instanceof RlmeshError && e.field === 'k');

  const table = formatEvalTable(r);
  const lines = table.split('\n');
  assert.match(lines[0]!, /^group\s+tasks\s+samples\s+acc%\s+avg@k%\s+pass@1%\s+pass@2%\s+mean_len$/);
  assert.match(lines[2]!, /^overall\s+3\s+8\s+37\.5\s+41\.7\s+41\.7\s+50\.0\s+11\.5$/);
  assert.ok(lines.some((l) => /^\s+sort\/d3\s+1\s+4\s+25\.0/.test(l)), table);
});
