// Countdown: reach a target from given numbers with + - * / (difficulty = how many numbers are given).
// The target is built from all numbers left to right, so a solution always exists; any valid one is accepted.
import type { CategoryGenerator, Problem } from './problem.ts';
import type { Rng } from './random.ts';

const MAX_TARGET = 999;
type Op = '+' | '-' | '*' | '/';
const PRECEDENCE: Record<Op, number> = { '+': 1, '-': 1, '*': 2, '/': 2 };

function legalOps(v: number, x: number): Op[] {
  const ops: Op[] = [];
  if (v + x <= MAX_TARGET) ops.push('+');
  if (v - x > 0) ops.push('-');
  if (x > 1 && v > 1 && v * x <= MAX_TARGET) ops.push('*');
  if (x > 1 && v % x === 0) ops.push('/');
  return ops;
}

function buildOnce(numbers: number[], rng: Rng): { expr: string; steps: string[]; target: number } | null {
  const order = rng.shuffle(numbers);
  let v = order[0]!;
  let expr = String(v);
  let topOp: Op | null = null;
  const steps: string[] = [];
  for (const x of order.slice(1)) {
    const ops = legalOps(v, x);
    if (ops.length === 0) return null;
    const op = rng.pick(ops);
    const next = op === '+' ? v + x : op === '-' ? v - x : op === '*' ? v * x : v / x;
    // the left operand needs parentheses when its top operator binds less tightly than `op`
    const left = topOp !== null && PRECEDENCE[topOp] < PRECEDENCE[op] ? `(${expr})` : expr;
    expr = `${left}${op}${x}`;
    steps.push(`${v}${op}${x}=${next}`);
    v = next;
    topOp = op;
  }
  return { expr, steps, target: v };
}

export const countdownGenerator: CategoryGenerator = {
  templates: ['use {nums} to make {target}', 'Reach {target} with {nums} (+-*/).', 'Make {target} from {nums}.'],
  generate(n, rng): Problem {
    const hi = n <= 3 ? 9 : 20;
    for (let attempt = 0; attempt < 64; attempt++) {
      const numbers = Array.from({ length: n }, () => rng.int(1, hi));
      const built = buildOnce(numbers, rng);
      // a target equal to a given number would be solvable without arithmetic
      if (!built || numbers.includes(built.target)) continue;
      const nums = numbers.join(',');
      const sortedNums = numbers.slice().sort((p, q) => p - q).join(',');
      return {
        key: `countdown:${sortedNums}->${built.target}`,
        fields: { nums, target: String(built.target) },
        params: { numbers: nums, target: String(built.target) },
        answer: built.expr,
        think: built.steps.join(' '),
      };
    }
    throw new Error(`countdown: no target found for n=${n}`);
  },
};
