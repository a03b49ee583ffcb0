// Test helpers for the objectives: tiny batches built from probabilities, logits or seeded random numbers.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { seededRandom } from '../../../src/objectives/tensor-ops.ts';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

export function close(actual: number, expected: number, tol = 1e-4, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected}, got ${actual} (tol ${tol})`);
}

/** [B, T, V] log-probs from nested probabilities. */
export function logProbs3(p: number[][][]): tf.Tensor3D {
  return tf.log(tf.tensor3d(p)) as tf.Tensor3D;
}

/** Seeded standard-normal-ish numbers (sum of uniforms). */
export function randn(n: number, seed: number, scale = 1): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => (r() + r() + r() + r() - 2) * scale);
}

/** Log-softmax of seeded random logits, as a plain array [B][T][V] (float64 in JS). */
export function randomLogits(B: number, T: number, V: number, seed: number, scale = 1): number[][][] {
  const v = randn(B * T * V, seed, scale);
  return Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => v.slice((b * T + t) * V, (b * T + t + 1) * V)));
}

/**
 * Central finite-difference check of d loss / d logits against tf's gradient, with relative tolerance.
 * `lossOf` must build its differentiable inputs from the logits tensor it is given.
 */
export function gradCheck(
  logits: number[][][],
  lossOf: (z: tf.Tensor3D) => tf.Scalar,
  opts: { eps?: number; rtol?: number; atol?: number; what?: string } = {},
): void {
  const eps = opts.eps ?? 1e-2;
  const rtol = opts.rtol ?? 0.05;
  const atol = opts.atol ?? 2e-3;
  const z0 = tf.tensor3d(logits);
  const g = tf.grad((z: tf.Tensor) => lossOf(z as tf.Tensor3D))(z0);
  const analytic = Array.from(g.dataSync());
  const flat = logits.flat(2);
  const shape = z0.shape;
  const f = (vals: number[]) => tf.tidy(() => lossOf(tf.tensor3d(vals, shape)).dataSync()[0]!);
  let maxAbs = 0;
  for (let i = 0; i < flat.length; i++) {
    const plus = [...flat];
    const minus = [...flat];
    plus[i]! += eps;
    minus[i]! -= eps;
    const fd = (f(plus) - f(minus)) / (2 * eps);
    const a = analytic[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(a));
    assert.ok(
      Math.abs(fd - a) <= atol + rtol * Math.abs(fd),
      `${opts.what ?? ''} grad[${i}]: analytic ${a}, finite difference ${fd}`,
    );
  }
  assert.ok(maxAbs > 1e-4, `${opts.what ?? ''}: gradient is identically ~0 (max |g| = ${maxAbs})`);
}
