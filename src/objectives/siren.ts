// SIREN (8a): selective entropy (top-p action subset, top-quantile states) anchored to its starting level.
import * as tf from '@tensorflow/tfjs';
import { batchDims, detach, need, num, quantile } from './tensor-ops.ts';
import type { SirenParams } from './params.ts';
import type { EntropyControl, ObjectiveBatch, ObjectiveMetrics } from './types.ts';

/**
 * Top-p entropy per position, [B, T, V] log-probs -> [B, T] (differentiable): keep the `cut` highest-probability
 * ids, where cut = how many sorted cumulative masses stay below topP (0 kept if the top-1 alone reaches it),
 * renormalise, take entropy. Ids tied with the last kept probability are kept only up to `cut` (lowest ids
 * first; tied ids have equal mass, so which ones is immaterial): keeping every tie would count ids ranked at or
 * past the cut.
 */
export function topPEntropy(logp: tf.Tensor3D, topP: number, topK: number): tf.Tensor2D {
  const V = logp.shape[2];
  const keep = tf.tidy(() => {
    const probs = tf.exp(detach(logp)) as tf.Tensor3D; // [B, T, V]
    const k = Math.min(topK, V);
    const { values } = tf.topk(probs, k); // [B, T, k] descending
    const C = tf.cumsum(values, 2); // [B, T, k]
    const cut = tf.sum(tf.cast(tf.less(C, topP), 'float32'), -1, true); // [B, T, 1] kept count
    const lastIdx = tf.cast(tf.squeeze(tf.maximum(tf.sub(cut, 1), 0), [2]), 'int32') as tf.Tensor2D; // [B, T]
    const last = tf.sum(tf.mul(tf.oneHot(lastIdx, k), values), -1, true); // [B, T, 1] cut-th largest prob
    const above = tf.cast(tf.greater(probs, last), 'float32'); // [B, T, V] ranked strictly before the ties
    const tie = tf.cast(tf.equal(probs, last), 'float32'); // [B, T, V]
    const tieSlots = tf.sub(cut, tf.sum(above, -1, true)); // [B, T, 1] ties that still fit before the cut
    const tieRank = tf.cumsum(tie, 2, true); // [B, T, V] exclusive: earlier tied ids
    const keepTie = tf.mul(tie, tf.cast(tf.less(tieRank, tieSlots), 'float32'));
    const any = tf.cast(tf.greater(cut, 0), 'float32'); // [B, T, 1]
    return tf.mul(tf.add(above, keepTie), any) as tf.Tensor3D; // [B, T, V] 0/1
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

/**
 * The anchored regulariser lambda * (Hsel - Hanchor)^2. Hsel only exists for a batch where the peak mask keeps
 * at least one token: when every valid Htop of a response ties (a uniform initial policy, a one-token response)
 * nothing is strictly above the quantile. Such a batch adds no loss and does not set the anchor: anchoring to
 * the empty selection's 0 would make the regulariser pull selective entropy down to zero, the opposite of 8a.
 */
export function sirenControl(p: SirenParams): SirenControl {
  const state = { anchor: p.anchor };
  return {
    name: 'siren',
    state,
    extraLoss: function sirenRegulariser(batch: ObjectiveBatch) {
      batchDims(batch);
      const htop = topPEntropy(need(batch, 'studentLogprobsFull', 'siren'), p.top_p, p.top_k);
      const keepRows = peakEntropyMask(htop.arraySync(), batch.mask.arraySync(), p.mask_quantile);
      const keptTokens = keepRows.reduce((a, row) => a + row.reduce((s, k) => s + k, 0), 0);
      if (keptTokens === 0) {
        const metrics: ObjectiveMetrics = { siren_kept_tokens: 0, siren_loss: 0 };
        if (state.anchor !== null) metrics.entropy_anchor = state.anchor;
        return { loss: tf.scalar(0), metrics };
      }
      const hsel = selectiveEntropy(htop, tf.tensor2d(keepRows, batch.mask.shape));
      const value = num(hsel);
      if (state.anchor === null) state.anchor = value; // first batch under the initial policy with a selection
      const loss = tf.mul(tf.square(tf.sub(hsel, state.anchor)), p.lambda) as tf.Scalar;
      return {
        loss,
        metrics: { selective_entropy: value, entropy_anchor: state.anchor, siren_kept_tokens: keptTokens, siren_loss: num(loss) },
      };
    },
  };
}
