// CEEH (9b): difficulty-aware entropy regularisation (max-entropy loss or entropy advantage) and length penalty.
import * as tf from '@tensorflow/tfjs';
import { groupCentred } from './advantages.ts';
import {
  advantagesToTokens,
  batchDims,
  checkPerSequence,
  entropiesOf,
  entropyFromLogprobs,
  need,
  num,
  sg2,
} from './tensor-ops.ts';
import type { CeehParams } from './params.ts';
import type { EntropyControl, ObjectiveBatch } from './types.ts';

/** Asymmetric EMA of a question's accuracy: eta 0.2 when it improved, 0.05 otherwise. */
export function ceehUpdateAccuracy(accEma: number, acc: number): number {
  const eta = acc > accEma ? 0.2 : 0.05;
  return (1 - eta) * accEma + eta * acc;
}

/** Hard set: questions whose EMA accuracy is below the dataset mean. */
export function ceehHardSet(accEma: readonly number[]): boolean[] {
  const mean = accEma.reduce((a, b) => a + b, 0) / Math.max(accEma.length, 1);
  return accEma.map((a) => a < mean);
}

/** Shortest correct length seen so far (null until one is correct). */
export function ceehUpdateShortest(shortest: number | null, length: number, correct: boolean): number | null {
  if (!correct) return shortest;
  return shortest === null ? length : Math.min(shortest, length);
}

/**
 * Reward with the optimal-length penalty: R - min(beta * (len - L*) / L*, 0.9) for correct answers, applied
 * only when the batch accuracy beats the EMA accuracy.
 */
export function ceehLengthReward(
  reward: number,
  s: { length: number; shortest: number | null; correct: boolean; acc: number; accEma: number },
  beta: number,
): number {
  if (!s.correct || s.shortest === null || !(s.acc > s.accEma)) return reward;
  const rLen = (s.length - s.shortest) / s.shortest;
  return reward - Math.min(beta * rLen, 0.9);
}

/** lambda(x, t) = m_x * lambda0 * cos(pi t / T). */
export function ceehEntropyCoef(hard: boolean, step: number, p: CeehParams): number {
  return (hard ? p.hard_multiplier : 1) * p.lambda0 * Math.cos((Math.PI * step) / p.total_steps);
}

export function ceehControl(p: CeehParams): EntropyControl {
  if (p.mode === 'me') {
    return {
      name: 'ceeh',
      extraLoss: function ceehMaxEntropy(batch: ObjectiveBatch) {
        const { B } = batchDims(batch);
        const hard = batch.hard ?? new Array<boolean>(B).fill(false);
        checkPerSequence(hard, B, 'hard');
        const coef = tf.tensor1d(hard.map((h) => ceehEntropyCoef(h, batch.step ?? 0, p))); // [B]
        const H = entropyFromLogprobs(need(batch, 'studentLogprobsFull', 'ceeh')); // [B, T]
        const L = tf.maximum(tf.sum(batch.mask, 1), 1); // [B]
        const hbar = tf.div(tf.sum(tf.mul(H, batch.mask), 1), L); // [B] per-sequence mean entropy
        const loss = tf.neg(tf.mean(tf.mul(coef, hbar))) as tf.Scalar;
        return { loss, metrics: { ceeh_loss: num(loss), ceeh_entropy: num(tf.mean(hbar)) } };
      },
    };
  }
  return {
    name: 'ceeh',
    adjustBatch: function ceehEntropyAdvantage(batch: ObjectiveBatch) {
      const { B, T } = batchDims(batch);
      const hard = need(batch, 'hard', 'ceeh');
      checkPerSequence(hard, B, 'hard');
      const base =
        batch.advantages !== undefined
          ? advantagesToTokens(batch.advantages, B, T)
          : advantagesToTokens(groupCentred(need(batch, 'rewards', 'ceeh'), need(batch, 'groupIds', 'ceeh')), B, T);
      const H = sg2(entropiesOf(batch, 'ceeh'));
      const bonus = tf.minimum(tf.mul(H, p.alpha), tf.div(tf.abs(base), p.kappa)); // [B, T]
      const isHard = tf.tensor2d(hard.map((h) => [h ? 1 : 0]), [B, 1]); // [B, 1]
      const shaped = tf.add(base, tf.mul(bonus, isHard)) as tf.Tensor2D;
      return { batch: { ...batch, advantages: shaped }, metrics: { ceeh_hard_fraction: hard.filter(Boolean).length / B } };
    },
  };
}
