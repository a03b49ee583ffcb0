// Hand-written parser and evaluator for countdown answers: integers, + - * /, parentheses; never eval().
// Rules: exact rational arithmetic (any expression whose value is the target counts, "4/3*6" = 8 included), division
// by zero is refused, unary minus is refused (numbers must be given ones), each given number may be used at most once
// (as a multiset). Spellings normalised first: x, \times, \cdot, ÷, \div, −, \left/\right, $, a trailing period.
import { formatRational, rational, toNumber, type Rational } from './rational.ts';

export type ExpressionResult =
  | { ok: true; value: number; numbers: number[] }
  | { ok: false; reason: string };

const MAX_EXPRESSION_CHARS = 256;
const MAX_DEPTH = 32;
/** Digits a numerator or denominator may reach (a 256-character expression stays far below it). */
const MAX_VALUE_DIGITS = 400;

class ExpressionError extends Error {}

function op(a: Rational, o: string, b: Rational): Rational {
  let r: Rational | null;
  if (o === '+') r = rational(a.num * b.den + b.num * a.den, a.den * b.den);
  else if (o === '-') r = rational(a.num * b.den - b.num * a.den, a.den * b.den);
  else if (o === '*') r = rational(a.num * b.num, a.den * b.den);
  else {
    if (b.num === 0n) throw new ExpressionError('division by zero');
    r = rational(a.num * b.den, a.den * b.num);
  }
  if (!r || r.num.toString().length > MAX_VALUE_DIGITS || r.den.toString().length > MAX_VALUE_DIGITS) throw new ExpressionError('intermediate value too large');
  return r;
}

class Parser {
  private pos = 0;
  private depth = 0;
  readonly numbers: number[] = [];

  constructor(private readonly src: string) {}

  parse(): Rational {
    const v = this.expr();
    this.skipSpaces();
    if (this.pos < this.src.length) throw new ExpressionError(`unexpected '${this.src[this.pos]}' at ${this.pos}`);
    return v;
  }

  private skipSpaces(): void {
    while (this.pos < this.src.length && (this.src[this.pos] === ' ' || this.src[this.pos] === '\t')) this.pos++;
  }

  private peekOp(ops: string): string | null {
    this.skipSpaces();
    const c = this.src[this.pos];
    return c !== undefined && ops.includes(c) ? c : null;
  }

  private expr(): Rational {
    let v = this.term();
    for (let o = this.peekOp('+-'); o; o = this.peekOp('+-')) {
      this.pos++;
      v = op(v, o, this.term());
    }
    return v;
  }

  private term(): Rational {
    let v = this.factor();
    for (let o = this.peekOp('*/'); o; o = this.peekOp('*/')) {
      this.pos++;
      v = op(v, o, this.factor());
    }
    return v;
  }

  private factor(): Rational {
    this.skipSpaces();
    const c = this.src[this.pos];
    if (c === '(') {
      if (++this.depth > MAX_DEPTH) throw new ExpressionError('parentheses nested too deeply');
      this.pos++;
      const v = this.expr();
      this.skipSpaces();
      if (this.src[this.pos] !== ')') throw new ExpressionError(`missing ')' at ${this.pos}`);
      this.pos++;
      this.depth--;
      return v;
    }
    if (c === '-' || c === '+') throw new ExpressionError('unary sign not allowed: use the given numbers');
    const start = this.pos;
    while (this.pos < this.src.length && this.src.charCodeAt(this.pos) >= 48 && this.src.charCodeAt(this.pos) <= 57) this.pos++;
    if (start === this.pos) throw new ExpressionError(c === undefined ? 'unexpected end' : `unexpected '${c}' at ${start}`);
    if (this.pos - start > 9) throw new ExpressionError('number too long');
    const n = Number(this.src.slice(start, this.pos));
    this.numbers.push(n);
    return { num: BigInt(n), den: 1n };
  }
}

/**
 * Normalises operator spellings and dressing: ×, ·, \times, \cdot and an x between operands to *, ÷ and \div to /,
 * − to -; drops \left, \right, $ and a trailing period.
 */
function normalise(text: string): string {
  return text
    .replace(/\\(?:left|right)\b/g, '')
    .replace(/\$/g, '')
    .replace(/[×·]|\\times|\\cdot/g, '*')
    .replace(/÷|\\div/g, '/')
    .replace(/−/g, '-')
    .replace(/([\d)]\s*)[xX](?=\s*[\d(])/g, '$1*')
    .trim()
    .replace(/\.$/, '');
}

function evaluateExact(text: string): { ok: true; value: Rational; numbers: number[] } | { ok: false; reason: string } {
  if (text.length > MAX_EXPRESSION_CHARS) return { ok: false, reason: `expression longer than ${MAX_EXPRESSION_CHARS} chars` };
  const p = new Parser(normalise(text));
  try {
    const value = p.parse();
    return { ok: true, value, numbers: p.numbers };
  } catch (e) {
    if (e instanceof ExpressionError) return { ok: false, reason: e.message };
    throw e;
  }
}

/** Parses and evaluates an arithmetic expression exactly; `value` as a JS number. */
export function evaluateExpression(text: string): ExpressionResult {
  const r = evaluateExact(text);
  return r.ok ? { ok: true, value: toNumber(r.value), numbers: r.numbers } : r;
}

/**
 * Checks a countdown answer: "expr", "expr = target" or "target = expr" (a trailing period is fine); numbers from
 * `given` at most once each; the value must be the target exactly.
 */
export function checkCountdown(answer: string, given: readonly number[], target: number): { ok: boolean; reason: string } {
  let parts = answer.trim().replace(/\.$/, '').split('=').map((x) => x.trim());
  if (parts.length > 2) return { ok: false, reason: 'more than one "=" in expression' };
  // "35 = (3+4)*5": the target written first
  if (parts.length === 2 && /^\d{1,9}$/.test(parts[0]!) && !/^\d{1,9}$/.test(parts[1]!)) parts = [parts[1]!, parts[0]!];
  const res = evaluateExact(parts[0]!);
  if (!res.ok) return { ok: false, reason: `invalid expression: ${res.reason}` };
  const value = formatRational(res.value);
  if (parts.length === 2) {
    const claimed = parts[1]!;
    if (!/^\d{1,9}$/.test(claimed) || claimed.replace(/^0+(?=\d)/, '') !== value) {
      return { ok: false, reason: `expression equals ${value}, not "${claimed.slice(0, 40)}"` };
    }
  }
  const pool = new Map<number, number>();
  for (const g of given) pool.set(g, (pool.get(g) ?? 0) + 1);
  for (const n of res.numbers) {
    const left = pool.get(n) ?? 0;
    if (left === 0) return { ok: false, reason: given.includes(n) ? `number ${n} used more often than given` : `number ${n} is not given` };
    pool.set(n, left - 1);
  }
  if (value !== String(target)) return { ok: false, reason: `expression equals ${value}, target is ${target}` };
  return { ok: true, reason: 'correct' };
}
