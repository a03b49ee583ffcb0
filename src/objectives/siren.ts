// SIREN (8a): selective entropy (top-p action subset, top-quantile states) anchored to its starting level.
import * as tf from '@tensorflow/tfjs';
import { batchDims, detach, need, num, quantile } from './tensor-ops.ts';
import type { SirenParams } from './params.ts';
import type { EntropyControl, ObjectiveBatch } from './types.ts';

/**
 * Top-p entropy per position, [B, T, V] log-probs -> [B, T] (differentiable): keep the highest-probability ids
 * while the cumulative mass stays below topP (0 kept if the top-1 alone reaches it), renormalise, take entropy.
 */
export function topPEntropy(logp: tf.Tensor3D, topP: number, topK: number): tf.Tensor2D {
  const V = logp.shape[2];
  const keep = tf.tidy(() => {
    const probs = tf.exp(detach(logp)) as tf.Tensor3D; // [B, T, V]
    const k = Math.min(topK, V);
    const { values } = tf.topk(probs, k); // [B, T, k] descending
    const C = tf.cumsum(values, 2); // [B, T, k]
    const cut = tf.sum(tf.cast(tf.less(C, topP), 'int32'), -1); // [B, T] kept count
    const last = tf.sum(tf.mul(tf.oneHot(tf.maximum(tf.sub(cut, tf.scalar(1, 'int32')), tf.scalar(0, 'int32')) as tf.Tensor2D, k), values), -1, true); // [B, T, 1]
    const any = tf.expandDims(tf.greater(cut, 0), -1); // [B, T, 1]
    return tf.cast(tf.logicalAnd(tf.greaterEqual(probs, last), any), 'float32') as tf.Tensor3D; // [B, T, V]
  });
  const masked = tf.add(logp, tf.mul(tf.sub(keep, 1), 1e9)); // kept ids keep lp, others ~ -inf
  const lse = tf.logSumExp(masked, -1, true); // [B, T, 1]
  const logq = tf.sub(logp, lse);
  const q = tf.mul(tf.exp(tf.sub(masked, lse)), keep);
  return tf.neg(tf.sum(tf.mul(q, tf.mul(logq, keep)), -1)) as tf.Tensor2D;
}

/** Peak-entropy mask: per response, keep valid tokens whose value is above that response's q-quantile. */
export function peakEntropyMask(htop: number[][], mask: number[][], q: number): number[][] {
  return htop.map((row, b) => {
    const valid = row.filter((_, t) => mask[b]![t]! > 0);
    if (valid.length === 0) return row.map(() => 0);
    const qb = quantile(valid, q);
    return row.map((h, t) => (mask[b]![t]! > 0 && h > qb ? 1 : 0));
  });
}

/** Selective entropy Hsel: SEQ_MEAN_TOKEN_MEAN of Htop over the kept tokens (sequences with none skipped). */
export function selectiveEntropy(htop: tf.Tensor2D, keep: tf.Tensor2D): tf.Scalar {
  const L = tf.sum(keep, 1); // [B]
  const has = tf.cast(tf.greater(L, 0), 'float32');
  const nSeq = num(tf.sum(has));
  const perSeq = tf.div(tf.sum(tf.mul(htop, keep), 1), tf.maximum(L, 1));
  return nSeq > 0 ? (tf.div(tf.sum(tf.mul(perSeq, has)), nSeq) as tf.Scalar) : (tf.mul(tf.sum(perSeq), 0) as tf.Scalar);
}

export interface SirenControl extends EntropyControl {
  /** The anchor (checkpointed by the learner); set from the first batch when not configured. */
  readonly state: { anchor: number | null };
}

export function sirenControl(p: SirenParams): SirenControl {
  const state = { anchor: p.anchor };
  return {
    name: 'siren',
    state,
    extraLoss: function sirenRegulariser(batch: ObjectiveBatch) {
      batchDims(batch);
      const htop = topPEntropy(need(batch, 'studentLogprobsFull', 'siren'), p.top_p, p.top_k);
      const keep = tf.tensor2d(peakEntropyMask(htop.arraySync(), batch.mask.arraySync(), p.mask_quantile), batch.mask.shape);
      const hsel = selectiveEntropy(htop, keep);
      const value = num(hsel);
      if (state.anchor === null) state.anchor = value; // first batch under the initial policy
      const loss = tf.mul(tf.square(tf.sub(hsel, state.anchor)), p.lambda) as tf.Scalar;
      return { loss, metrics: { selective_entropy: value, entropy_anchor: state.anchor, siren_loss: num(loss) } };
    },
  };
}
