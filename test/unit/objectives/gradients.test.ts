// Finite-difference gradient checks (float64 JS reference, eps 1e-2 on logits) for every differentiable loss.
import { before, test } from 'node:test';
import { compileObjectives, computeLoss } from '../../../src/objectives/index.ts';
import { batchOf, cases, logits } from './fixtures.ts';
import { gradCheck, useCpu } from './helpers.ts';

before(useCpu);

for (const [what, opts, eps] of cases) {
  test(`finite-difference gradient: ${what}`, () => {
    const compiled = compileObjectives(opts);
    gradCheck(logits, (z) => computeLoss(compiled, batchOf(z)).loss, { what, eps });
  });
}
