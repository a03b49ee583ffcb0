// Finds numeric literals in free text (linear scan, no backtracking regexes): integers, decimals (point or
// comma), thousands separators (",", " ", LaTeX "{,}" and "\,"), exponents, a/b and \frac{a}{b}, unary signs.
import { divide, negate, rational, type Rational } from './rational.ts';

export interface NumberToken {
  value: Rational;
  start: number;
  end: number;
}

const MAX_DIGITS = 400; // longer digit runs are not numbers we grade; keeps BigInt work bounded
const MAX_EXPONENT = 400;
const MAX_FRAC_DEPTH = 4;
const MAX_FRAC_ARG_CHARS = 256; // a longer \frac argument is not a number we grade; bounds the brace scan

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isLetter = (c: string | undefined): boolean => c !== undefined && /[A-Za-z]/.test(c);

/**
 * Rewrites LaTeX and typography that only dresses numbers: \dfrac, \left, \text{..}, \$, \%, \times and \cdot (to ×,
 * so "\times10" is no word), U+2212, thin spaces.
 */
export function normaliseMathText(text: string): string {
  return text
    .replace(/\\[dtc]frac/g, '\\frac')
    .replace(/\\(?:left|right|displaystyle)\b/g, '')
    .replace(/\{,\}/g, ',')
    .replace(/\\[,;:! ]/g, '')
    .replace(/\\(?:text|textbf|textit|mathrm|mathbf|mbox|boxed|fbox)\s*\{/g, ' {')
    .replace(/\\([$%])/g, '$1')
    .replace(/\\(?:times|cdot)(?![A-Za-z])/g, ' × ')
    .replace(/[\u2212\u2013]/g, '-')
    .replace(/\u00a0|\u202f|\u2009/g, ' ');
}

function digitRun(s: string, i: number): number {
  let j = i;
  while (isDigit(s[j])) j++;
  return j;
}

/** Reads an unsigned literal at i; returns its value and end, or null. */
function readLiteral(s: string, i: number): { value: Rational | null; end: number } | null {
  let j = digitRun(s, i);
  let intDigits = s.slice(i, j);
  let fracDigits = '';
  // thousands groups: a 1-3 digit head (not "0") followed by separator + exactly 3 digits
  if (intDigits.length >= 1 && intDigits.length <= 3 && intDigits !== '0') {
    for (const sep of [',', ' ']) {
      let k = j;
      let grouped = intDigits;
      while (s[k] === sep && digitRun(s, k + 1) - (k + 1) === 3) {
        grouped += s.slice(k + 1, k + 4);
        k += 4;
      }
      if (k !== j) {
        intDigits = grouped;
        j = k;
        break;
      }
    }
  }
  if ((s[j] === '.' || (s[j] === ',' && intDigits.length > 0)) && isDigit(s[j + 1])) {
    const e = digitRun(s, j + 1);
    fracDigits = s.slice(j + 1, e);
    j = e;
  }
  if (intDigits.length === 0 && fracDigits.length === 0) return null;
  if (intDigits.length + fracDigits.length > MAX_DIGITS) return null;
  let num = BigInt((intDigits || '0') + fracDigits);
  let den = 10n ** BigInt(fracDigits.length);
  if ((s[j] === 'e' || s[j] === 'E') && !isLetter(s[j + 1])) {
    let k = j + 1;
    const neg = s[k] === '-';
    if (s[k] === '-' || s[k] === '+') k++;
    const e = digitRun(s, k);
    if (e > k && !isLetter(s[e])) {
      const exp = Number(s.slice(k, e));
      // "1e500" is no number we grade; consumed whole, so its mantissa is not read as the answer
      if (e - k > 3 || exp > MAX_EXPONENT) return { value: null, end: e };
      if (neg) den *= 10n ** BigInt(exp);
      else num *= 10n ** BigInt(exp);
      j = e;
    }
  }
  // a power "10^3", "2^{10}", "10^{-3}": its value, or (too large, or a tower "2^3^2") no number; never the exponent
  // alone
  if (s[j] === '^') {
    const braced = s[j + 1] === '{';
    let k = j + (braced ? 2 : 1);
    while (braced && s[k] === ' ') k++;
    const negative = s[k] === '-';
    if (negative) k++;
    const e = digitRun(s, k);
    let close = e;
    while (braced && s[close] === ' ') close++;
    if (e > k && (!braced || s[close] === '}')) {
      const exp = Number(s.slice(k, e));
      const end = braced ? close + 1 : e;
      const digits = (num.toString().length + den.toString().length) * exp;
      if (e - k > 3 || digits > MAX_DIGITS || s[end] === '^') return { value: null, end };
      const [n, d] = [num ** BigInt(exp), den ** BigInt(exp)];
      return { value: negative ? rational(d, n) : rational(n, d), end };
    }
  }
  // a/b with integer parts only
  if (fracDigits.length === 0 && s[j] === '/' && isDigit(s[j + 1])) {
    const e = digitRun(s, j + 1);
    if (e - (j + 1) <= MAX_DIGITS) {
      // "1/0" is not a number; consume it whole so the "0" is not read as the answer
      return { value: rational(num, den * BigInt(s.slice(j + 1, e))), end: e };
    }
  }
  const value = rational(num, den);
  return value ? { value, end: j } : null;
}

/** Reads one \frac argument: a {group} holding exactly one number, or a single digit (\frac12). */
function readFracArg(s: string, i: number, depth: number): { value: Rational; end: number } | null {
  const k = fracArgEnd(s, i);
  if (k === null) return null;
  while (s[i] === ' ') i++;
  if (isDigit(s[i])) return { value: { num: BigInt(s[i]!), den: 1n }, end: k };
  const inner = s.slice(i + 1, k - 1).trim();
  const tokens = scanNumbers(inner, depth + 1);
  if (tokens.length !== 1 || tokens[0]!.start !== 0 || tokens[0]!.end !== inner.length) return null;
  return { value: tokens[0]!.value, end: k };
}

/**
 * Unary sign before position i ("-3", "= - 3", "(-3", "is -3"), but not binary minus ("5-3", "x - 3", "x-3"). After a
 * word the sign is unary when a space separates it from the word and nothing from the number ("the answer is -3").
 */
function signBefore(s: string, i: number): { negative: boolean; start: number } {
  let k = i - 1;
  while (s[k] === ' ') k--;
  if (s[k] !== '-' && s[k] !== '+') return { negative: false, start: i };
  let p = k - 1;
  while (s[p] === ' ') p--;
  const prev = s[p];
  const afterWord = prev !== undefined && isLetter(prev) && p < k - 1 && k === i - 1;
  if (prev !== undefined && !afterWord && (isDigit(prev) || isLetter(prev) || prev === ')' || prev === '}' || prev === ']')) {
    return { negative: false, start: i };
  }
  return { negative: s[k] === '-', start: k };
}

/** End of one \frac argument at i: a digit or a balanced {group} (within MAX_FRAC_ARG_CHARS); null when neither. */
function fracArgEnd(s: string, i: number): number | null {
  let k = i;
  while (s[k] === ' ') k++;
  if (isDigit(s[k])) return k + 1;
  if (s[k] !== '{') return null;
  let level = 1;
  const limit = Math.min(s.length, k + 1 + MAX_FRAC_ARG_CHARS);
  k++;
  while (k < limit && level > 0) {
    if (s[k] === '{') level++;
    else if (s[k] === '}') level--;
    k++;
  }
  return level === 0 ? k : null;
}

const SCAN_TAIL_CHARS = 2048;

/**
 * The last ~2 KB of `text`, starting at a whitespace boundary: final answers sit at the end, and scanning
 * only the tail bounds the work per completion whatever its length.
 */
export function scanTail(text: string): string {
  if (text.length <= SCAN_TAIL_CHARS) return text;
  const tail = text.slice(text.length - SCAN_TAIL_CHARS);
  const ws = tail.search(/\s/);
  return ws >= 0 && ws < 64 ? tail.slice(ws + 1) : tail;
}

/** What joins a mantissa to "10^" in scientific notation written as a product. */
const TIMES = /^\s*[×·*]\s*$/; // (normaliseMathText wrote \times and \cdot as ×)

/** Digits at i are an exponent: right after "^", "^{", "^-" or "^{-" (never a number of their own). */
function isExponent(text: string, i: number): boolean {
  let k = i - 1;
  if (text[k] === '-' || text[k] === '+') k--;
  while (text[k] === ' ') k--;
  if (text[k] === '{') k--;
  return text[k] === '^';
}

/** All numeric literals in `text`, left to right. Digits glued to a preceding letter ("x2") or after ^ are skipped. */
export function scanNumbers(text: string, depth = 0): NumberToken[] {
  const out: NumberToken[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    let lit: { value: Rational; end: number } | null = null;
    if (c === '\\' && text.startsWith('\\frac', i) && depth < MAX_FRAC_DEPTH) {
      const a = readFracArg(text, i + 5, depth);
      const b = a && readFracArg(text, a.end, depth);
      const q = a && b ? divide(a.value, b.value) : null;
      if (q && b) lit = { value: q, end: b.end };
      else {
        // Not a number ("\frac{3}{0}", "\frac{n}{2}"): its digits are not answers either, and the arguments already
        // scanned are skipped, not scanned again (a nested \frac would be, at every depth: "\frac{" x 36 took
        // seconds). An unbalanced argument: only the command is skipped.
        const first = fracArgEnd(text, i + 5);
        i = first === null ? i + 5 : (fracArgEnd(text, first) ?? first);
        continue;
      }
    } else if (isDigit(c) || (c === '.' && isDigit(text[i + 1]) && !isDigit(text[i - 1]))) {
      if (isLetter(text[i - 1]) || isExponent(text, i)) {
        i = Math.max(digitRun(text, i), i + 1); // "x2", "AZ2B": part of a word, not a number; "m^2": an exponent
        continue;
      }
      const read = readLiteral(text, i);
      if (!read || !read.value) {
        i = read ? read.end : Math.max(digitRun(text, i), i + 1);
        continue;
      }
      lit = { value: read.value, end: read.end };
    } else {
      i++;
      continue;
    }
    const sign = signBefore(text, i);
    const prev = out[out.length - 1];
    // scientific notation written as a product, "1.5 \times 10^{-3}": one number
    if (prev && text.startsWith('10^', i) && TIMES.test(text.slice(prev.end, sign.start))) {
      out[out.length - 1] = { value: rational(prev.value.num * lit.value.num, prev.value.den * lit.value.den)!, start: prev.start, end: lit.end };
    } else {
      out.push({ value: sign.negative ? negate(lit.value) : lit.value, start: sign.start, end: lit.end });
    }
    i = lit.end;
  }
  return out;
}
