// Generic request-field checks for handler validators; each throws `invalidField(field, message)` (the
// boundary turns that into INVALID_ARGUMENT naming the field). Message-specific validators live in services.
import { invalidField } from '../../errors.ts';

/** Throws `invalidField(field, message)` unless `ok`. */
export function check(ok: boolean, field: string, message: string): asserts ok {
  if (!ok) throw invalidField(field, message);
}

/** A message field that must be present (ts-proto leaves unset sub-messages `undefined`). */
export function requirePresent<T>(value: T | undefined | null, field: string): T {
  if (value === undefined || value === null) throw invalidField(field, 'is required');
  return value;
}

export function requireNonEmpty(value: string | ArrayLike<unknown> | undefined, field: string): void {
  if (value === undefined || value.length === 0) throw invalidField(field, 'must not be empty');
}

export interface RangeBounds {
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  gt?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Exclusive upper bound. */
  lt?: number;
  integer?: boolean;
}

function describeRange(b: RangeBounds): string {
  const lo = b.gt !== undefined ? `(${b.gt}` : b.min !== undefined ? `[${b.min}` : '(-inf';
  const hi = b.lt !== undefined ? `${b.lt})` : b.max !== undefined ? `${b.max}]` : 'inf)';
  return `${lo}, ${hi}`;
}

/** e.g. `requireInRange(req.topP, 'sampling.top_p', { gt: 0, max: 1 })` -> "sampling.top_p: must be in (0, 1] (got 0)". */
export function requireInRange(value: number, field: string, bounds: RangeBounds): void {
  const bad =
    !Number.isFinite(value) ||
    (bounds.integer === true && !Number.isInteger(value)) ||
    (bounds.min !== undefined && value < bounds.min) ||
    (bounds.gt !== undefined && value <= bounds.gt) ||
    (bounds.max !== undefined && value > bounds.max) ||
    (bounds.lt !== undefined && value >= bounds.lt);
  if (bad) {
    const kind = bounds.integer ? 'an integer' : 'a number';
    throw invalidField(field, `must be ${kind} in ${describeRange(bounds)} (got ${value})`);
  }
}

export function requireOneOf<T extends string>(value: string, allowed: readonly T[], field: string): asserts value is T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidField(field, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  }
}

/** Runs `check` on each element with the indexed field name, e.g. `items.3.completion`. */
export function checkEach<T>(items: readonly T[], field: string, checkItem: (item: T, itemField: string) => void): void {
  items.forEach((item, i) => checkItem(item, `${field}.${i}`));
}
