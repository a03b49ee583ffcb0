// Hand-written parser and evaluator for countdown answers: integers, + - * /, parentheses; never eval().
// Rules (documented in README of the folder via index.ts): every intermediate result must be an integer
// (exact division only), division by zero is refused, unary minus is refused (numbers must be given ones),
// negative intermediates are allowed, each given number may be used at most once (as a multiset).

export type ExpressionResult =
  | { ok: true; value: number; numbers: number[] }
  | { ok: false; reason: string };

const MAX_EXPRESSION_CHARS = 256;
const MAX_DEPTH = 32;

class ExpressionError extends Error {}

class Parser {
  private pos = 0;
  private depth = 0;
  readonly numbers: number[] = [];

  constructor(private readonly src: string) {}

  parse(): number {
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

  private expr(): number {
    let v = this.term();
    for (let op = this.peekOp('+-'); op; op = this.peekOp('+-')) {
      this.pos++;
      const r = this.term();
      v = checked(op === '+' ? v + r : v - r);
    }
    return v;
  }

  private term(): number {
    let v = this.factor();
    for (let op = this.peekOp('*/'); op; op = this.peekOp('*/')) {
      this.pos++;
      const r = this.factor();
      if (op === '*') v = checked(v * r);
      else {
        if (r === 0) throw new ExpressionError('division by zero');
        if (v % r !== 0) throw new ExpressionError(`non-integer step ${v}/${r}`);
        v = v / r;
      }
    }
    return v;
  }

  private factor(): number {
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
    return n;
  }
}

function checked(v: number): number {
  if (!Number.isSafeInteger(v)) throw new ExpressionError('intermediate value too large');
  return v;
}

/** Normalises operator spellings (×, ÷, −, x between digits) to + - * /. */
function normalise(text: string): string {
  return text.replace(/[×·]/g, '*').replace(/÷/g, '/').replace(/−/g, '-').replace(/\\times/g, '*').replace(/\\div/g, '/');
}

/** Parses and evaluates an arithmetic expression with integer-only steps. */
export function evaluateExpression(text: string): ExpressionResult {
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

/** Checks a countdown answer: "expr" or "expr = target"; numbers from `given` at most once each. */
export function checkCountdown(answer: string, given: readonly number[], target: number): { ok: boolean; reason: string } {
  const parts = answer.split('=');
  if (parts.length > 2) return { ok: false, reason: 'more than one "=" in expression' };
  const res = evaluateExpression(parts[0]!.trim());
  if (!res.ok) return { ok: false, reason: `invalid expression: ${res.reason}` };
  if (parts.length === 2) {
    const claimed = parts[1]!.trim();
    if (!/^\d{1,9}$/.test(claimed) || Number(claimed) !== res.value) {
      return { ok: false, reason: `expression equals ${res.value}, not "${claimed}"` };
    }
  }
  const pool = new Map<number, number>();
  for (const g of given) pool.set(g, (pool.get(g) ?? 0) + 1);
  for (const n of res.numbers) {
    const left = pool.get(n) ?? 0;
    if (left === 0) return { ok: false, reason: given.includes(n) ? `number ${n} used more often than given` : `number ${n} is not given` };
    pool.set(n, left - 1);
  }
  if (res.value !== target) return { ok: false, reason: `expression equals ${res.value}, target is ${target}` };
  return { ok: true, reason: 'correct' };
}
