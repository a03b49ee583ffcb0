// GRPO family (3): GRPO, DAPO, BNPO, Dr.GRPO as one objective differing in aggregation and reward scaling.
import * as tf from '@tensorflow/tfjs';
import { aggregate, keptFraction } from './aggregate.ts';
import { advantageStats, grpoAdvantages, opdAdvantages } from './advantages.ts';
import { k3 } from './divergence.ts';
import { clippedSurrogate } from './surrogate.ts';
import {
  advantagesToTokens,
  batchDims,
  entropyFromLogprobs,
  maskedMeanValue,
  need,
  num,
  sg2,
} from './tensor-ops.ts';
import type { PolicyGradientParams } from './params.ts';
import type { Aggregation, LossHooks, ObjectiveBatch, ObjectiveFn, ObjectiveMetrics } from './types.ts';

export const PolicyGradientVariant = {
  grpo: 'grpo',
  dapo: 'dapo',
  bnpo: 'bnpo',
  drGrpo: 'dr-grpo',
} as const;
export type PolicyGradientVariant = (typeof PolicyGradientVariant)[keyof typeof PolicyGradientVariant];

const aggregationOf: Record<PolicyGradientVariant, Aggregation> = {
  grpo: 'seq-mean-token-mean',
  dapo: 'token-mean',
  bnpo: 'token-mean',
  'dr-grpo': 'seq-sum-norm',
};

/**
 * Per-token advantages [B, T] (constant): batch.advantages when given, else GRPO advantages from rewards and
 * group ids; plus the OPD reverse-KL term when opdKlCoef > 0 (1a step 4).
 */
export function policyAdvantages(
  batch: ObjectiveBatch,
  p: Pick<PolicyGradientParams, 'scale_rewards' | 'adv_eps' | 'opd_kl_coef' | 'opd_discount'>,
  method: string,
): tf.Tensor2D {
  const { B, T } = batchDims(batch);
  const base =
    batch.advantages !== undefined
      ? advantagesToTokens(batch.advantages, B, T)
      : advantagesToTokens(
          grpoAdvantages(need(batch, 'rewards', method), need(batch, 'groupIds', method), p.scale_rewards, p.adv_eps),
          B,
          T,
        );
  if (p.opd_kl_coef <= 0) return base;
  const lpOld = batch.samplingLogprobs ?? sg2(batch.studentLogprobs);
  const opd = opdAdvantages(lpOld, need(batch, 'teacherLogprobs', method), batch.mask, p.opd_kl_coef, p.opd_discount);
  return tf.add(base, opd) as tf.Tensor2D;
}

/** Builds one GRPO-family objective. */
export function policyGradientObjective(variant: PolicyGradientVariant, p: PolicyGradientParams): ObjectiveFn {
  const aggregation = aggregationOf[variant];
  return function policyGradientLoss(batch: ObjectiveBatch, hooks: LossHooks = {}) {
    const { T } = batchDims(batch);
    const m = batch.mask;
    const lp = batch.studentLogprobs;
    const lpOld = batch.samplingLogprobs ?? sg2(lp); // one optimizer step per batch: ratio 1
    const A = policyAdvantages(batch, p, variant);
    const s = clippedSurrogate(lp, lpOld, A, m, {
      epsLow: p.eps_low,
      epsHigh: p.eps_high,
      dualClip: p.dual_clip,
      importanceLevel: p.importance_level,
    });
    const metrics: ObjectiveMetrics = {};
    let perToken = s.perToken;
    if (hooks.tokenHook) {
      const h = hooks.tokenHook({ batch, perToken, advantages: A, ratio: s.ratio, clipped: s.clipped });
      perToken = h.perToken;
      Object.assign(metrics, h.metrics);
    }
    if (p.kl_coef > 0) {
      const kl = k3(lp, need(batch, 'referenceLogprobs', variant));
      perToken = tf.add(perToken, tf.mul(kl, p.kl_coef)) as tf.Tensor2D;
      metrics.kl_ref = maskedMeanValue(kl, m);
    }
    if (p.entropy_coef > 0) {
      const H = entropyFromLogprobs(need(batch, 'studentLogprobsFull', variant));
      perToken = tf.sub(perToken, tf.mul(H, p.entropy_coef)) as tf.Tensor2D;
    }
    const loss = aggregate(perToken, m, aggregation, {
      selection: hooks.selection,
      maxLength: p.max_completion_length ?? T,
      tokenCount: variant === 'dapo' ? batch.globalTokenCount : undefined,
    });
    const stats = advantageStats(A, m);
    metrics.advantage_mean = stats.mean;
    metrics.advantage_std = stats.std;
    metrics.clip_fraction = maskedMeanValue(s.clipped, m);
    metrics.dual_clip_fraction = maskedMeanValue(s.dualClipped, m);
    metrics.ratio_mean = maskedMeanValue(sg2(s.ratio), m);
    if (batch.entropies || batch.studentLogprobsFull) {
      const H = batch.entropies ?? entropyFromLogprobs(batch.studentLogprobsFull!);
      metrics.entropy = maskedMeanValue(sg2(H), m);
    }
    if (hooks.selection) metrics.kept_token_fraction = keptFraction(hooks.selection.keep, m);
    metrics.loss = num(loss);
    return { loss, metrics };
  };
}
