// Advantages: GRPO group normalisation (3.1) and the OPD dense reverse-KL advantage with discount (1a).
import * as tf from '@tensorflow/tfjs';
import { RlmeshError } from '../errors.ts';
import { checkPerSequence, meanStd } from './tensor-ops.ts';

export type RewardScaling = 'group' | 'batch' | 'none';

export interface AdvantageStats {
  mean: number;
  std: number;
}

/** Groups of sequence indices by group id, in first-seen order. */
export function groupIndices(groupIds: ReadonlyArray<number | string>): number[][] {
  const groups = new Map<number | string, number[]>();
  groupIds.forEach((g, i) => {
    const list = groups.get(g);
    if (list) list.push(i);
    else groups.set(g, [i]);
  });
  return [...groups.values()];
}

/**
 * GRPO advantages A[b] = (R[b] - mean_g) / (sd + eps); `batch` uses the whole-batch std, `none` no std
 * (Dr.GRPO). Unbiased std; a singleton group has mean 0 and std 1 (verl).
 */
export function grpoAdvantages(
  rewards: readonly number[],
  groupIds: ReadonlyArray<number | string>,
  scale: RewardScaling = 'group',
  eps = 1e-4,
): number[] {
  checkPerSequence(groupIds, rewards.length, 'groupIds');
  rewards.forEach((r, i) => {
    if (!Number.isFinite(r)) throw new RlmeshError('data', `rewards[${i}] is not finite: ${r}`, { field: `rewards.${i}` });
  });
  const out = new Array<number>(rewards.length).fill(0);
  const batchStd = meanStd(rewards).std;
  for (const idx of groupIndices(groupIds)) {
    const vals = idx.map((i) => rewards[i]!);
    const single = idx.length === 1;
    const { mean, std } = single ? { mean: 0, std: 1 } : meanStd(vals);
    const sd = scale === 'group' ? std : scale === 'batch' ? batchStd : 1;
    for (const i of idx) out[i] = scale === 'none' ? rewards[i]! - mean : (rewards[i]! - mean) / (sd + eps);
  }
  return out;
}

/** Group-centred rewards R - mean_g R (no std): the env part of the OPD advantage (1a step 4). */
export function groupCentred(rewards: readonly number[], groupIds: ReadonlyArray<number | string>): number[] {
  return grpoAdvantages(rewards, groupIds, 'none');
}

/**
 * OPD dense advantage (1a): a = -klCoef * (lpOld - lpT) * m, then A[t] = sum_k gamma^k a[t+k] along each row
 * (computed right to left). Returns a constant [B, T] tensor.
 */
export function opdAdvantages(
  samplingLogprobs: tf.Tensor2D,
  teacherLogprobs: tf.Tensor2D,
  mask: tf.Tensor2D,
  klCoef: number,
  discount: number,
): tf.Tensor2D {
  const [B, T] = mask.shape;
  const d = tf.tidy(() => tf.mul(tf.sub(samplingLogprobs, teacherLogprobs), mask).arraySync() as number[][]);
  const m = mask.arraySync();
  const out = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    let run = 0;
    for (let t = T - 1; t >= 0; t--) {
      run = -klCoef * d[b]![t]! + discount * run;
      out[b * T + t] = m[b]![t]! > 0 ? run : 0;
    }
  }
  return tf.tensor2d(out, [B, T]);
}

/** Masked mean and std (unbiased) of per-token advantages over valid tokens. */
export function advantageStats(adv: tf.Tensor2D, mask: tf.Tensor2D): AdvantageStats {
  const a = adv.dataSync();
  const m = mask.dataSync();
  const vals: number[] = [];
  for (let i = 0; i < a.length; i++) if (m[i]! > 0) vals.push(a[i]!);
  return meanStd(vals);
}
