// Composed dependency chains (ALGORITHMS.md section 13): k steps, each feeding the previous answer into the
// next; only the last value is graded. Difficulty = k.
import type { CategoryGenerator, Problem } from './problem.ts';
import type { Rng } from './random.ts';

const VARS = 'abcdefghijklmnop'; // 16 names, the chain difficulty cap
const MAX_VALUE = 999; // intermediate values stay in [0, 999] so scratchpads stay short

type Op = '+' | '-' | '*';

function apply(x: number, op: Op, y: number): number {
  return op === '+' ? x + y : op === '-' ? x - y : x * y;
}

function pickStep(prev: number, rng: Rng): [Op, number] {
  const n = rng.int(1, 9);
  const ops: Op[] = ['+'];
  if (prev - n >= 0) ops.push('-');
  if (n > 1 && prev * n <= MAX_VALUE) ops.push('*');
  if (prev + n > MAX_VALUE) ops.shift();
  return [rng.pick(ops.length ? ops : ['-']), n];
}

/** The key arithmetic.ts gives the problem x op y (its split is decided by it). */
function arithmeticKey(x: number, op: Op, y: number): string {
  if (op === '-') return `sub:${x}-${y}`;
  const [lo, hi] = x <= y ? [x, y] : [y, x];
  return op === '+' ? `add:${lo}+${hi}` : `mul:${lo}*${hi}`;
}

export const chainGenerator: CategoryGenerator = {
  templates: ['{expr},{last}=?', 'Let {expr}. Find {last}.', 'Given {expr}, what is {last}?'],
  generate(k, rng): Problem {
    const x = rng.int(1, 9);
    const y = rng.int(1, 9);
    const firstOp = rng.pick<Op>(x >= y ? ['+', '-', '*'] : ['+', '*']);
    let value = apply(x, firstOp, y);
    const defs = [`a=${x}${firstOp}${y}`];
    const values = [`a=${value}`];
    for (let i = 1; i < k; i++) {
      const [op, n] = pickStep(value, rng);
      value = apply(value, op, n);
      defs.push(`${VARS[i]}=${VARS[i - 1]}${op}${n}`);
      values.push(`${VARS[i]}=${value}`);
    }
    const expr = defs.join(',');
    return {
      // A one-step chain is the arithmetic problem itself: it takes that problem's key, so it falls in the same split
      // as the add/sub/mul task (a=1+2 trained while 1+2 was held out leaked the held-out set in mixed suites).
      key: k === 1 ? arithmeticKey(x, firstOp, y) : `chain:${expr}`,
      fields: { expr, last: VARS[k - 1]! },
      params: { steps: expr },
      answer: String(value),
      think: values.join(' '),
    };
  },
};
