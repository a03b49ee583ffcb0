// Distillation objectives: OPD (1a), GKD generalized JSD (1b), forward / reverse / mixed KL (2).
import * as tf from '@tensorflow/tfjs';
import { aggregate, keptFraction } from './aggregate.ts';
import { advantageStats, groupCentred, opdAdvantages } from './advantages.ts';
import { distributionPair, forwardKl, generalizedJsd, reverseKl, type DistributionPair } from './divergence.ts';
import { importanceRatio } from './surrogate.ts';
import {
  advantagesToTokens,
  batchDims,
  entropyFromLogprobs,
  maskedMeanValue,
  need,
  num,
  sg2,
} from './tensor-ops.ts';
import type { GkdParams, KlMixParams, OpdParams } from './params.ts';
import type { LossHooks, ObjectiveBatch, ObjectiveFn, ObjectiveMetrics } from './types.ts';

/** OPD (1a): loss = -sum m * exp(lp - lpOld) * sg(A), A the (discounted) dense reverse-KL advantage. */
export function opdObjective(p: OpdParams): ObjectiveFn {
  return function opdLoss(batch: ObjectiveBatch, hooks: LossHooks = {}) {
    const { B, T } = batchDims(batch);
    const m = batch.mask;
    const lp = batch.studentLogprobs;
    const lpOld = need(batch, 'samplingLogprobs', 'opd-reverse-kl');
    const lpT = need(batch, 'teacherLogprobs', 'opd-reverse-kl');
    let A = opdAdvantages(lpOld, lpT, m, p.kl_coef, p.discount);
    if (p.with_env_reward) {
      const env = groupCentred(need(batch, 'rewards', 'opd-reverse-kl'), need(batch, 'groupIds', 'opd-reverse-kl'));
      A = tf.add(A, tf.mul(advantagesToTokens(env, B, T), m)) as tf.Tensor2D;
    }
    const ratio = importanceRatio(lp, sg2(lpOld), m, 'token');
    let perToken = tf.neg(tf.mul(ratio, A)) as tf.Tensor2D;
    const metrics: ObjectiveMetrics = {};
    if (hooks.tokenHook) {
      const clipped = tf.zerosLike(perToken) as tf.Tensor2D;
      const h = hooks.tokenHook({ batch, perToken, advantages: A, ratio, clipped });
      perToken = h.perToken;
      Object.assign(metrics, h.metrics);
    }
    const loss = aggregate(perToken, m, p.reduction === 'sum' ? 'sum' : 'token-mean', { selection: hooks.selection });
    const stats = advantageStats(A, m);
    metrics.kl = maskedMeanValue(tf.sub(lpOld, lpT) as tf.Tensor2D, m); // sampled reverse-KL estimate
    metrics.advantage_mean = stats.mean;
    metrics.advantage_std = stats.std;
    if (hooks.selection) metrics.kept_token_fraction = keptFraction(hooks.selection.keep, m);
    metrics.loss = num(loss);
    return { loss, metrics };
  };
}

/** Shared tail of the distribution-level losses: token mean over (selected) valid tokens plus metrics. */
function divergenceLoss(
  batch: ObjectiveBatch,
  pair: DistributionPair,
  perToken: tf.Tensor2D,
  hooks: LossHooks,
  metricName: string,
): { loss: tf.Scalar; metrics: ObjectiveMetrics } {
  const m = batch.mask;
  const loss = aggregate(perToken, m, 'token-mean', { selection: hooks.selection });
  const metrics: ObjectiveMetrics = {
    [metricName]: maskedMeanValue(sg2(perToken), m),
    kl_forward: maskedMeanValue(sg2(forwardKl(pair)), m),
    kl_reverse: maskedMeanValue(sg2(reverseKl(pair)), m),
    entropy: maskedMeanValue(sg2(entropyFromLogprobs(pair.student)), m),
  };
  if (hooks.selection) metrics.kept_token_fraction = keptFraction(hooks.selection.keep, m);
  metrics.loss = num(loss);
  return { loss, metrics };
}

/** GKD (1b): generalized JSD with teacher weight beta, summed over vocab, mean over valid tokens. */
export function gkdObjective(p: GkdParams): ObjectiveFn {
  return function gkdLoss(batch: ObjectiveBatch, hooks: LossHooks = {}) {
    batchDims(batch);
    const pair = distributionPair(batch, 'gkd-jsd');
    return divergenceLoss(batch, pair, generalizedJsd(pair, p.beta), hooks, 'jsd');
  };
}

/** KL mixing (2): lambda * KL(pS||pT) + (1 - lambda) * KL(pT||pS), exact over the vocab, token mean. */
export function klMixObjective(p: Pick<KlMixParams, 'lambda'>, method = 'kl-mix'): ObjectiveFn {
  return function klMixLoss(batch: ObjectiveBatch, hooks: LossHooks = {}) {
    batchDims(batch);
    const pair = distributionPair(batch, method);
    const perToken =
      p.lambda >= 1
        ? reverseKl(pair)
        : p.lambda <= 0
          ? forwardKl(pair)
          : (tf.add(tf.mul(reverseKl(pair), p.lambda), tf.mul(forwardKl(pair), 1 - p.lambda)) as tf.Tensor2D);
    return divergenceLoss(batch, pair, perToken, hooks, 'kl');
  };
}

/** The GKD data source for one step (1b): on-policy with probability lmbda, else teacher or dataset samples. */
export function gkdDataSource(p: Pick<GkdParams, 'lmbda' | 'seq_kd'>, u: number): 'student' | 'teacher' | 'dataset' {
  if (u < p.lmbda) return 'student';
  return p.seq_kd ? 'teacher' : 'dataset';
}
