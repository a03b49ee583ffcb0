// Add / subtract / multiply generators with column-wise scratchpads (difficulty = digits per operand).
import type { CategoryGenerator, Problem } from './problem.ts';
import type { Rng } from './random.ts';

function operand(digits: number, rng: Rng): number {
  if (digits === 1) return rng.int(0, 9);
  return rng.int(10 ** (digits - 1), 10 ** digits - 1);
}

function digitsOf(n: number): number[] {
  // least significant first
  return String(n).split('').reverse().map(Number);
}

/** "7+5=12 c1 3+4+1=8": one column per step, right to left, carry noted as c1. */
export function additionScratchpad(a: number, b: number): string {
  const da = digitsOf(a);
  const db = digitsOf(b);
  const steps: string[] = [];
  let carry = 0;
  for (let i = 0; i < Math.max(da.length, db.length); i++) {
    const x = da[i] ?? 0;
    const y = db[i] ?? 0;
    const s = x + y + carry;
    steps.push(`${x}+${y}${carry ? '+1' : ''}=${s}${s >= 10 ? ' c1' : ''}`);
    carry = s >= 10 ? 1 : 0;
  }
  return steps.join(' ');
}

/** "12-7=5 b1 8-3-1=4": one column per step, right to left; a borrow adds 10 and is noted as b1. */
export function subtractionScratchpad(a: number, b: number): string {
  const da = digitsOf(a);
  const db = digitsOf(b);
  const steps: string[] = [];
  let borrow = 0;
  for (let i = 0; i < da.length; i++) {
    const x = da[i]!;
    const y = db[i] ?? 0;
    let r = x - y - borrow;
    const head = `${x}-${y}${borrow ? '-1' : ''}`;
    if (r < 0) {
      r += 10;
      steps.push(`1${head}=${r} b1`);
      borrow = 1;
    } else {
      steps.push(`${head}=${r}`);
      borrow = 0;
    }
  }
  return steps.join(' ');
}

/** "37*5=185 37*40=1480 185+1480=1665": one partial product per digit of b, then their sum. */
export function multiplicationScratchpad(a: number, b: number): string {
  const db = digitsOf(b);
  if (db.length === 1) return `${a}*${b}=${a * b}`;
  const partials = db.map((d, i) => d * 10 ** i);
  const products = partials.map((p) => a * p);
  const steps = partials.map((p, i) => `${a}*${p}=${products[i]}`);
  steps.push(`${products.join('+')}=${a * b}`);
  return steps.join(' ');
}

export const addGenerator: CategoryGenerator = {
  templates: ['{a}+{b}=?', 'What is {a}+{b}?', 'Add {a} and {b}.'],
  generate(difficulty, rng): Problem {
    const a = operand(difficulty, rng);
    const b = operand(difficulty, rng);
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    return {
      key: `add:${lo}+${hi}`, // addition commutes: 3+5 and 5+3 are one problem
      fields: { a: String(a), b: String(b) },
      params: { a: String(a), b: String(b) },
      answer: String(a + b),
      think: additionScratchpad(a, b),
    };
  },
};

export const subGenerator: CategoryGenerator = {
  templates: ['{a}-{b}=?', 'What is {a}-{b}?', 'Subtract {b} from {a}.'],
  generate(difficulty, rng): Problem {
    const x = operand(difficulty, rng);
    const y = operand(difficulty, rng);
    const [a, b] = x >= y ? [x, y] : [y, x]; // results stay non-negative
    return {
      key: `sub:${a}-${b}`,
      fields: { a: String(a), b: String(b) },
      params: { a: String(a), b: String(b) },
      answer: String(a - b),
      think: subtractionScratchpad(a, b),
    };
  },
};

export const mulGenerator: CategoryGenerator = {
  templates: ['{a}*{b}=?', 'What is {a}*{b}?', 'Multiply {a} by {b}.'],
  generate(difficulty, rng): Problem {
    const a = operand(difficulty, rng);
    const b = operand(difficulty, rng);
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    return {
      key: `mul:${lo}*${hi}`,
      fields: { a: String(a), b: String(b) },
      params: { a: String(a), b: String(b) },
      answer: String(a * b),
      think: multiplicationScratchpad(a, b),
    };
  },
};
