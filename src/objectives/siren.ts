// SIREN (8a): selective entropy (top-p action subset, top-quantile states) anchored to its starting level.
import * as tf from '@tensorflow/tfjs';
import { batchDims, need, num, quantile } from './tensor-ops.ts';
import type { SirenParams } from './params.ts';
import type { EntropyControl, ObjectiveBatch, ObjectiveMetrics } from './types.ts';

/**
 * Top-p keep mask per position (8a step 1), [B, T, V] probabilities -> [B, T, V] 0/1: sort the top-k ids by
 * probability, cut = how many cumulative masses stay below topP, keep ranks < cut (none when the top-1 alone
 * reaches topP). Ids tied with the cut-th probability fill the remaining ranks lowest id first: tied ids have
 * equal mass, so which ones does not change the entropy. Plain loops over read-back values (a native numeric
 * sort per position): the mask is a constant, and this is much cheaper than topk + cumsum kernels on wasm.
 */
export function topPKeepMask(probs: Float32Array, V: number, topP: number, topK: number): Float32Array {
  const keep = new Float32Array(probs.length);
  const k = Math.min(topK, V);
  for (let base = 0; base < probs.length; base += V) {
    const row = probs.subarray(base, base + V);
    const sorted = row.slice().sort(); // ascending
    let cum = 0;
    let cut = 0;
    while (cut < k) {
      cum += sorted[V - 1 - cut]!;
      if (cum >= topP) break;
      cut++;
    }
    if (cut === 0) continue;
    const last = sorted[V - cut]!; // the cut-th largest probability
    let ties = cut;
    for (let i = 0; i < V; i++) if (row[i]! > last) ties--;
    for (let i = 0; i < V; i++) {
      if (row[i]! > last || (row[i] === last && ties-- > 0)) keep[base + i] = 1;
    }
  }
  return keep;
}

/**
 * Top-p entropy per position, [B, T, V] log-probs -> [B, T] (differentiable): keep the `cut` highest-probability
 * ids (topPKeepMask), renormalise, take entropy.
 */
export function topPEntropy(logp: tf.Tensor3D, topP: number, topK: number): tf.Tensor2D {
  const V = logp.shape[2];
  const lp = logp.dataSync(); // values only: the mask is a constant
  const probs = new Float32Array(lp.length);
  for (let i = 0; i < lp.length; i++) probs[i] = Math.exp(lp[i]!);
  const keep = tf.tensor3d(topPKeepMask(probs, V, topP, topK), logp.shape);
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
