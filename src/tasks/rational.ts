// Exact rational numbers on BigInt, so "0.5", "1/2" and "\frac{1}{2}" compare equal without float error.

export interface Rational {
  /** numerator, carries the sign */
  num: bigint;
  /** denominator, always > 0 */
  den: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** num/den reduced; null when den == 0. */
export function rational(num: bigint, den: bigint): Rational | null {
  if (den === 0n) return null;
  if (den < 0n) [num, den] = [-num, -den];
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}

export function rationalEquals(a: Rational, b: Rational): boolean {
  return a.num * b.den === b.num * a.den;
}

export function negate(r: Rational): Rational {
  return { num: -r.num, den: r.den };
}

export function divide(a: Rational, b: Rational): Rational | null {
  return rational(a.num * b.den, a.den * b.num);
}

/** The nearest JS number. */
export function toNumber(r: Rational): number {
  return Number(r.num) / Number(r.den);
}

/** Canonical text: "82", "-3", "1/2". */
export function formatRational(r: Rational): string {
  return r.den === 1n ? r.num.toString() : `${r.num}/${r.den}`;
}
