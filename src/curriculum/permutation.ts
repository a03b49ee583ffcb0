// A keyed pseudo-random permutation of [0, n) evaluated index by index (Feistel network + cycle walking),
// so "shuffled, without replacement" sampling needs only a cursor in the saved state, not the shuffled list.
import { hash32 } from './rng.ts';

/** The element at position `i` of the permutation of [0, n) selected by `key`. */
export function permute(i: number, n: number, key: number): number {
  if (n <= 1) return 0;
  let bits = 2;
  while (2 ** bits < n) bits += 2; // even bit count: two equal halves
  const half = bits / 2;
  const mask = 2 ** half - 1;
  let x = i;
  do {
    let left = Math.floor(x / 2 ** half);
    let right = x & mask;
    for (let round = 0; round < 4; round++) {
      const f = hash32(right, hash32(key, round)) & mask;
      [left, right] = [right, (left ^ f) & mask];
    }
    x = left * 2 ** half + right;
  } while (x >= n); // cycle walking: stays a bijection on [0, n)
  return x;
}
