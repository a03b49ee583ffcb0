// PW-OPSD (6): position-weighted self-distillation with a per-vocab clipped forward-KL target.
import * as tf from '@tensorflow/tfjs';
import { aggregate, keptFraction } from './aggregate.ts';
import { clippedForwardKl, distributionPair, generalizedJsd, reverseKl } from './divergence.ts';
import { batchDims, maskedMeanValue, num, sg2 } from './tensor-ops.ts';
import type { PwOpsdParams } from './params.ts';
import type { LossHooks, ObjectiveBatch, ObjectiveFn } from './types.ts';

/**
 * Position weights [B, T]: k = 1-based index among the row's valid tokens, frac = max(k - 0.5, 0) / L,
 * w = wMin + (1 - wMin) * sigmoid((frac - tau) / s); 0 on invalid tokens.
 */
export function positionWeights(mask: tf.Tensor2D, p: Pick<PwOpsdParams, 'w_min' | 'tau' | 's'>): tf.Tensor2D {
  const [B, T] = mask.shape;
  const m = mask.arraySync();
  const out = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const L = m[b]!.reduce((a, v) => a + (v > 0 ? 1 : 0), 0);
    let k = 0;
    for (let t = 0; t < T; t++) {
      if (!(m[b]![t]! > 0)) continue;
      k++;
      const frac = Math.max(k - 0.5, 0) / L;
      out[b * T + t] = p.w_min + (1 - p.w_min) / (1 + Math.exp(-(frac - p.tau) / p.s));
    }
  }
  return tf.tensor2d(out, [B, T]);
}

export function pwOpsdObjective(p: PwOpsdParams): ObjectiveFn {
  return function pwOpsdLoss(batch: ObjectiveBatch, hooks: LossHooks = {}) {
    batchDims(batch);
    const m = batch.mask;
    const pair = distributionPair(batch, 'pw-opsd');
    const divergence =
      p.beta <= 0 ? clippedForwardKl(pair, p.token_clip) : p.beta >= 1 ? reverseKl(pair) : generalizedJsd(pair, p.beta);
    const w = p.position_weights ? positionWeights(m, p) : (tf.onesLike(m) as tf.Tensor2D);
    const perToken = tf.mul(divergence, w) as tf.Tensor2D;
    const loss = aggregate(perToken, m, p.reduction === 'seq-mean' ? 'seq-mean-token-mean' : 'token-mean', {
      selection: hooks.selection,
    });
    const metrics: Record<string, number> = {
      kl: maskedMeanValue(sg2(divergence), m),
      position_weight_mean: maskedMeanValue(w, m),
    };
    if (hooks.selection) metrics.kept_token_fraction = keptFraction(hooks.selection.keep, m);
    metrics.loss = num(loss);
    return { loss, metrics };
  };
}
