// Small tensor and numeric helpers shared by the objectives: stop-gradient, input checks, quantile, seeded RNG.
import * as tf from '@tensorflow/tfjs';
import { RlmeshError } from '../errors.ts';
import type { ObjectiveBatch } from './types.ts';

/** Stop-gradient: the value of x, with zero gradient flowing back (ALGORITHMS.md 0.1 `sg`). */
const stopGradient = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = inputs[0] as tf.Tensor;
  return { value: x.clone(), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor) };
});

export function sg(x: tf.Tensor): tf.Tensor {
  return stopGradient(x);
}

/** A copy of x's values that is not connected to the gradient tape at all (for masks built with
 *  comparisons, top-k and other ops that have no gradient in TF.js). Reads the values back (a sync). */
export function detach<T extends tf.Tensor>(x: T): T {
  return tf.tensor(x.dataSync(), x.shape, x.dtype) as T;
}

export function sg2(x: tf.Tensor2D): tf.Tensor2D {
  return sg(x) as tf.Tensor2D;
}

/** A required batch input, or a data error naming the missing field and the method that needs it. */
export function need<K extends keyof ObjectiveBatch>(
  batch: ObjectiveBatch,
  key: K,
  method: string,
): NonNullable<ObjectiveBatch[K]> {
  const v = batch[key];
  if (v === undefined || v === null) {
    throw new RlmeshError('data', `${method} needs batch.${String(key)}`, { field: String(key), details: { method } });
  }
  return v as NonNullable<ObjectiveBatch[K]>;
}

/** Checks a tensor's shape against [B, T] (or [B, T, *]) of the batch mask. */
export function checkShape(t: tf.Tensor, expected: readonly number[], field: string): void {
  const ok = expected.every((d, i) => d < 0 || t.shape[i] === d) && t.shape.length === expected.length;
  if (!ok) {
    throw new RlmeshError('data', `${field}: shape [${t.shape.join(', ')}], expected [${expected.join(', ')}]`, {
      field,
      details: { shape: t.shape, expected },
    });
  }
}

/** Checks a per-sequence array has B entries of finite numbers. */
export function checkPerSequence(values: readonly unknown[], B: number, field: string): void {
  if (values.length !== B) {
    throw new RlmeshError('data', `${field}: ${values.length} entries, expected ${B} (one per sequence)`, { field });
  }
}

/** [B, T] dims of the batch, after checking every present per-token input agrees with the mask. */
export function batchDims(batch: ObjectiveBatch): { B: number; T: number } {
  const [B, T] = batch.mask.shape;
  checkShape(batch.studentLogprobs, [B, T], 'studentLogprobs');
  for (const k of ['samplingLogprobs', 'teacherLogprobs', 'referenceLogprobs', 'entropies'] as const) {
    const t = batch[k];
    if (t) checkShape(t, [B, T], k);
  }
  for (const k of ['studentLogprobsFull', 'teacherLogprobsFull'] as const) {
    const t = batch[k];
    if (t) checkShape(t, [B, T, -1], k);
  }
  return { B, T };
}

/** Linear-interpolation quantile (ALGORITHMS.md 0.4, same as torch.quantile). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RlmeshError('data', 'quantile of an empty set', { field: 'values' });
  const x = [...values].sort((a, b) => a - b);
  const pos = q * (x.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return x[lo]! + (pos - lo) * (x[hi]! - x[lo]!);
}

/** Mean and unbiased std (Bessel) of a list; std is 0 for fewer than two values. */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: 0, std: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, std: 0 };
  const v = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(v) };
}

/** Deterministic PRNG (mulberry32) in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seed mixed with the step, so each optimizer step draws differently but reproducibly. */
export function stepSeed(seed: number, step: number | undefined): number {
  return (Math.imul(seed ^ 0x9e3779b9, 2654435761) + (step ?? 0) * 40503) >>> 0;
}

/** Row-major values of a [B, T] tensor as nested arrays (constant data only). */
export function rows(t: tf.Tensor2D): number[][] {
  return t.arraySync();
}

/** Per-token entropies [B, T] (constant): given, or derived from the full student log-probs. */
export function entropiesOf(batch: ObjectiveBatch, method: string): tf.Tensor2D {
  if (batch.entropies) return batch.entropies;
  if (batch.studentLogprobsFull) return sg2(entropyFromLogprobs(batch.studentLogprobsFull));
  throw new RlmeshError('data', `${method} needs batch.entropies or batch.studentLogprobsFull`, {
    field: 'entropies',
    details: { method },
  });
}

/** H = -sum_v p log p over the last axis: [B, T, V] -> [B, T] (differentiable). */
export function entropyFromLogprobs(logp: tf.Tensor3D): tf.Tensor2D {
  return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)) as tf.Tensor2D;
}

/** Per-token advantages [B, T] from per-sequence values [B] or a given [B, T] tensor (constant). */
export function advantagesToTokens(adv: readonly number[] | tf.Tensor2D, B: number, T: number): tf.Tensor2D {
  if (Array.isArray(adv) || !(adv instanceof tf.Tensor)) {
    const a = adv as readonly number[];
    checkPerSequence(a, B, 'advantages');
    return tf.tile(tf.tensor2d([...a], [B, 1]), [1, T]) as tf.Tensor2D; // [B, 1] -> [B, T]
  }
  checkShape(adv, [B, T], 'advantages');
  return sg2(adv);
}

/** Masked mean of a constant [B, T] tensor as a number (0 when the mask is empty). */
export function maskedMeanValue(x: tf.Tensor2D, mask: tf.Tensor2D): number {
  return tf.tidy(() => {
    const n = tf.sum(mask).dataSync()[0]!;
    return n > 0 ? tf.sum(tf.mul(x, mask)).dataSync()[0]! / n : 0;
  });
}

/** Value of a scalar tensor as a number. */
export function num(x: tf.Tensor): number {
  return x.dataSync()[0]!;
}
