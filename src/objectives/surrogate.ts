// PPO clipped surrogate with clip-higher and dual clip (3.2), shared by the GRPO family and OPD.
import * as tf from '@tensorflow/tfjs';
import { detach, sg2 } from './tensor-ops.ts';

export interface SurrogateOptions {
  epsLow: number;
  epsHigh: number;
  /** Dual-clip constant c (> 1) applied where A < 0; null = off. */
  dualClip: number | null;
  /** 'sequence' replaces lp - lpOld by its per-sequence masked mean before exp. */
  importanceLevel: 'token' | 'sequence';
}

export interface Surrogate {
  /** [B, T] -min(rho A, clip(rho) A), dual-clipped (differentiable). */
  perToken: tf.Tensor2D;
  /** [B, T] importance ratio (differentiable). */
  ratio: tf.Tensor2D;
  /** [B, T] 1 where the clipped branch was taken. */
  clipped: tf.Tensor2D;
  /** [B, T] 1 where the dual clip capped the loss. */
  dualClipped: tf.Tensor2D;
}

/**
 * |lp - lpOld| is clamped to this before exp (ratios within [e^-20, e^20]), as production PPO/GRPO trainers do: a
 * token whose recorded log-prob is absurdly low (-100: a corrupted or adversarial trajectory) would overflow the ratio
 * to Infinity and turn the whole step's gradient into NaN. Within the clamp nothing changes; past it the token adds
 * no gradient through the ratio (the PPO clip would have cut it long before).
 */
export const MAX_LOG_RATIO = 20;

/** Importance ratio exp(lp - lpOld), token- or sequence-level, the log-ratio clamped to +-MAX_LOG_RATIO. */
export function importanceRatio(
  lp: tf.Tensor2D,
  lpOld: tf.Tensor2D,
  mask: tf.Tensor2D,
  level: 'token' | 'sequence',
): tf.Tensor2D {
  const logRatio = tf.clipByValue(tf.sub(lp, lpOld), -MAX_LOG_RATIO, MAX_LOG_RATIO) as tf.Tensor2D;
  if (level === 'token') return tf.exp(logRatio) as tf.Tensor2D;
  const L = tf.maximum(tf.sum(mask, 1, true), 1); // [B, 1]
  const seq = tf.div(tf.sum(tf.mul(logRatio, mask), 1, true), L); // [B, 1]
  return tf.exp(tf.mul(tf.onesLike(lp), seq)) as tf.Tensor2D; // [B, 1] -> [B, T]
}

/** Per-token PPO loss l = -min(rho A, clip(rho, 1-epsLow, 1+epsHigh) A); where A < 0, l = min(l, -A c). */
export function clippedSurrogate(
  lp: tf.Tensor2D,
  lpOld: tf.Tensor2D,
  advantages: tf.Tensor2D,
  mask: tf.Tensor2D,
  opts: SurrogateOptions,
): Surrogate {
  const A = detach(advantages);
  const ratio = importanceRatio(lp, sg2(lpOld), mask, opts.importanceLevel);
  const lo = 1 - opts.epsLow;
  const hi = 1 + opts.epsHigh;
  const unclippedLoss = tf.neg(tf.mul(ratio, A));
  const clippedLoss = tf.neg(tf.mul(tf.clipByValue(ratio, lo, hi), A));
  let perToken = tf.maximum(unclippedLoss, clippedLoss) as tf.Tensor2D;
  // branch masks from constant values (comparisons have no gradient in TF.js)
  const r = detach(ratio);
  const clippedBranch = tf.greater(tf.neg(tf.mul(tf.clipByValue(r, lo, hi), A)), tf.neg(tf.mul(r, A)));
  const clipped = tf.cast(clippedBranch, 'float32') as tf.Tensor2D;
  let dualClipped = tf.zerosLike(perToken) as tf.Tensor2D;
  if (opts.dualClip !== null) {
    const cap = tf.mul(tf.neg(A), opts.dualClip); // -A c
    const ppo = tf.maximum(tf.neg(tf.mul(r, A)), tf.neg(tf.mul(tf.clipByValue(r, lo, hi), A)));
    const capped = tf.logicalAnd(tf.less(A, 0), tf.greater(ppo, cap));
    dualClipped = tf.cast(capped, 'float32') as tf.Tensor2D;
    perToken = tf.where(capped, cap, perToken) as tf.Tensor2D;
  }
  return { perToken, ratio, clipped, dualClipped };
}
