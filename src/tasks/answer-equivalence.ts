// Numeric and list answer equivalence: exact rational comparison after stripping surrounding text, units,
// currency, percent signs and LaTeX dressing ("1,000" == 1000, "\frac{1}{2}" == 0.5 == "1/2").
import { normaliseMathText, scanNumbers, scanTail } from './number-scan.ts';
import { rationalEquals, type Rational } from './rational.ts';

const MAX_LIST_ITEMS = 256; // longer lists are not answers to our tasks; bounds the work
const PLAIN_INTEGER = /^-?\d{1,15}$/;

/**
 * The number an answer text states: the last number after the last "=" (so "x = 5" and
 * "5 apples" are 5). Null when the text holds no number.
 */
export function parseNumericAnswer(text: string): Rational | null {
  if (PLAIN_INTEGER.test(text)) return { num: BigInt(text), den: 1n }; // fast path: most answers are plain integers
  let s = normaliseMathText(scanTail(text));
  const eq = s.lastIndexOf('=');
  if (eq >= 0) s = s.slice(eq + 1);
  const tokens = scanNumbers(s);
  return tokens.length ? tokens[tokens.length - 1]!.value : null;
}

/** Exactly one number making up the whole item (units and signs allowed around it, no other digits). */
function parseListItem(item: string): Rational | null {
  const tokens = scanNumbers(item);
  return tokens.length === 1 ? tokens[0]!.value : null;
}

/**
 * A list answer: items separated by commas, semicolons, whitespace or "and", optionally wrapped in
 * [..], (..) or {..}, alone or ending a sentence ("The sorted list is [1, 2, 3]", "Answer: 1, 2, 3"). In list context
 * a comma always separates items (no thousands separators).
 */
export function parseListAnswer(text: string): Rational[] | null {
  const whole = parseListBody(text);
  if (whole) return whole;
  // a list stated in a sentence: what follows its last ':', '=' or ' is ' when that comes after its last [..] (an
  // echoed input list: "Reversing [4, 7, 1] gives: 1, 7, 4"), else that last [..]
  const s = normaliseMathText(text);
  const lower = s.toLowerCase();
  const after = (marker: string) => {
    const at = lower.lastIndexOf(marker);
    return at < 0 ? 0 : at + marker.length;
  };
  const cut = Math.max(after(':'), after('='), after(' is '), after(' gives '));
  const open = s.lastIndexOf('[');
  const close = open >= 0 ? s.indexOf(']', open) : -1;
  const stated = cut > 0 ? parseListBody(s.slice(cut)) : null;
  const bracketed = close > open ? parseListBody(s.slice(open, close + 1)) : null;
  if (stated && (cut > open || !bracketed)) return stated;
  return bracketed ?? stated;
}

function parseListBody(text: string): Rational[] | null {
  let s = normaliseMathText(text).trim();
  const open = s[0];
  const close = s[s.length - 1];
  if ((open === '[' && close === ']') || (open === '(' && close === ')') || (open === '{' && close === '}')) {
    s = s.slice(1, -1);
  }
  const items = s.split(/[\s,;]+/).filter((p) => p.length > 0 && p.toLowerCase() !== 'and');
  if (items.length === 0 || items.length > MAX_LIST_ITEMS) return null;
  const out: Rational[] = [];
  for (const item of items) {
    const v = parseListItem(item);
    if (v === null) return null;
    out.push(v);
  }
  return out;
}

export function numericAnswersEqual(candidate: string, expected: string): boolean {
  const a = parseNumericAnswer(candidate);
  const b = parseNumericAnswer(expected);
  return a !== null && b !== null && rationalEquals(a, b);
}

export function listAnswersEqual(candidate: string, expected: string): boolean {
  const a = parseListAnswer(candidate);
  const b = parseListAnswer(expected);
  return a !== null && b !== null && a.length === b.length && a.every((v, i) => rationalEquals(v, b[i]!));
}
