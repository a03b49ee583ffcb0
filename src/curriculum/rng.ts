// Seeded, serialisable pseudo-random numbers (mulberry32) and the sampling helpers curricula share.

/** A PRNG whose whole state is one uint32, so it round-trips through JSON. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = hash32(seed >>> 0, 0x9e3779b9);
  }
  static fromState(state: number): Rng {
    const r = new Rng(0);
    r.s = state >>> 0;
    return r;
  }
  get state(): number {
    return this.s;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Index drawn from non-negative weights (need not sum to 1; at least one must be > 0). */
  categorical(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let u = this.next() * total;
    let last = 0;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i]! <= 0) continue;
      last = i;
      u -= weights[i]!;
      if (u < 0) return i;
    }
    return last;
  }
}

/** A 32-bit mix of two words (murmur3 finaliser). Deterministic key derivation without consuming an Rng. */
export function hash32(a: number, b: number): number {
  let h = Math.imul((a ^ Math.imul(b, 0x85ebca6b)) >>> 0, 0xcc9e2d51) ^ 0x1b873593;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Numerically stable softmax of `x / temperature`. */
export function softmax(x: readonly number[], temperature = 1): number[] {
  if (x.length === 0) return [];
  const z = x.map((v) => v / temperature);
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
