// DRPO (9a): decoupled reward for correct rollouts, length-weighted positives vs a log-sum-exp over negatives.
import * as tf from '@tensorflow/tfjs';
import { groupIndices } from './advantages.ts';
import { importanceRatio } from './surrogate.ts';
import { batchDims, checkPerSequence, maskedMeanValue, need, num, sg2 } from './tensor-ops.ts';
import type { DrpoParams } from './params.ts';
import type { LossHooks, ObjectiveBatch, ObjectiveFn } from './types.ts';

/** Self-normalised length weights omega over positives: w = exp((1 - L/L_max) / lambda), normalised. */
export function drpoLengthWeights(lengths: readonly number[], maxLength: number, lambda: number): number[] {
  if (!Number.isFinite(lambda)) return lengths.map(() => 1 / lengths.length);
  const logits = lengths.map((L) => (1 - L / maxLength) / lambda);
  const top = Math.max(...logits);
  const w = logits.map((z) => Math.exp(z - top));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / sum);
}

export function drpoObjective(p: DrpoParams): ObjectiveFn {
  return function drpoLoss(batch: ObjectiveBatch, hooks: LossHooks = {}) {
    const { B } = batchDims(batch);
    const m = hooks.selection ? (tf.mul(batch.mask, hooks.selection.keep) as tf.Tensor2D) : batch.mask;
    const groupIds = need(batch, 'groupIds', 'drpo');
    checkPerSequence(groupIds, B, 'groupIds');
    const correct = batch.correct ?? need(batch, 'rewards', 'drpo').map((r) => r > 0);
    checkPerSequence(correct, B, 'correct');
    const lengths = Array.from(tf.sum(batch.mask, 1).dataSync());
    const L = tf.maximum(tf.sum(m, 1), 1); // [B]
    const score = tf.div(tf.sum(tf.mul(batch.studentLogprobs, m), 1), L) as tf.Tensor1D; // [B] mean token lp
    const posWeight = new Float32Array(B);
    const terms: tf.Scalar[] = [];
    let questions = 0;
    for (const idx of groupIndices(groupIds)) {
      const pos = idx.filter((i) => correct[i]);
      const neg = idx.filter((i) => !correct[i]);
      if (pos.length === 0 || neg.length === 0) continue; // all right or all wrong: no signal
      questions++;
      const omega = drpoLengthWeights(pos.map((i) => lengths[i]!), p.max_length, p.lambda);
      pos.forEach((i, k) => (posWeight[i] = omega[k]!));
      // tau * log mean_{j in N} exp(s_j / tau); the constant log|N| does not change the gradient. Members are
      // picked with an additive 0 / -1e9 bias rather than tf.gather, whose gradient (UnsortedSegmentSum) the
      // wasm backend lacks.
      const bias = new Float32Array(B).fill(-1e9);
      for (const i of neg) bias[i] = 0;
      const lse = tf.logSumExp(tf.add(tf.div(score, p.tau), tf.tensor1d(bias)));
      terms.push(tf.mul(tf.sub(lse, Math.log(neg.length)), p.tau) as tf.Scalar);
    }
    const posTerm = tf.sum(tf.mul(score, tf.tensor1d(posWeight)));
    const negTerm = terms.length ? tf.addN(terms) : tf.scalar(0);
    const J = tf.sub(posTerm, negTerm);
    let loss = questions > 0 ? (tf.div(tf.neg(J), questions) as tf.Scalar) : (tf.mul(posTerm, 0) as tf.Scalar);
    let klValue = 0;
    if (batch.samplingLogprobs) {
      const rho = importanceRatio(batch.studentLogprobs, sg2(batch.samplingLogprobs), batch.mask, 'token');
      const klTok = tf.sub(tf.sub(rho, 1), tf.log(rho)); // rho - 1 - log rho
      const n = Math.max(num(tf.sum(batch.mask)), 1);
      const kl = tf.div(tf.sum(tf.mul(klTok, batch.mask)), n) as tf.Scalar;
      klValue = num(kl);
      const coef = Math.max(p.beta * (klValue - p.delta), 0); // sg(max(beta (KL - delta), 0))
      if (coef > 0) loss = tf.add(loss, tf.mul(kl, coef)) as tf.Scalar;
    }
    const metrics: Record<string, number> = {
      loss: num(loss),
      questions_used: questions,
      kl_old: klValue,
      score_mean: maskedMeanValue(sg2(batch.studentLogprobs), batch.mask),
    };
    if (hooks.selection) metrics.kept_token_fraction = num(tf.div(tf.sum(m), tf.maximum(tf.sum(batch.mask), 1)));
    return { loss, metrics };
  };
}
