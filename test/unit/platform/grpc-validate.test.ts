// Generic request checks throw invalidField errors that name the field and the bad value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RlmeshError } from '../../../src/errors.ts';
import { check, checkEach, requireInRange, requireNonEmpty, requireOneOf, requirePresent } from '../../../src/platform/grpc/index.ts';

function fieldError(fn: () => void): RlmeshError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RlmeshError);
    assert.equal(e.category, 'config');
    return e;
  }
  assert.fail('expected invalidField');
}

test('requireInRange describes open/closed bounds and the value', () => {
  const e = fieldError(() => requireInRange(0, 'sampling.top_p', { gt: 0, max: 1 }));
  assert.equal(e.field, 'sampling.top_p');
  assert.equal(e.message, 'sampling.top_p: must be a number in (0, 1] (got 0)');
  requireInRange(1, 'sampling.top_p', { gt: 0, max: 1 });
  assert.match(fieldError(() => requireInRange(2.5, 'limit', { min: 1, max: 10, integer: true })).message, /an integer in \[1, 10\] \(got 2\.5\)/);
  assert.match(fieldError(() => requireInRange(Number.NaN, 'x', { min: 0 })).message, /got NaN/);
});

test('presence, emptiness, enums and per-item checks', () => {
  assert.equal(fieldError(() => requirePresent(undefined, 'sampling')).message, 'sampling: is required');
  assert.equal(requirePresent({ a: 1 }, 'sampling').a, 1);
  assert.equal(fieldError(() => requireNonEmpty([], 'items')).field, 'items');
  assert.match(fieldError(() => requireOneOf('dev', ['train', 'heldout'], 'split')).message, /split: must be one of train, heldout \(got "dev"\)/);
  const e = fieldError(() =>
    checkEach(['ok', ''], 'items', (item, f) => check(item.length > 0, `${f}.completion`, 'must not be empty')),
  );
  assert.equal(e.field, 'items.1.completion');
});
