// Entrocraft (14): keep batch entropy inside an annealed band by keeping only positive or negative advantages.
import { invalidField } from '../errors.ts';
import { grpoAdvantages } from './advantages.ts';
import { batchDims, entropiesOf, maskedMeanValue, need } from './tensor-ops.ts';
import type { EntrocraftParams } from './params.ts';
import type { EntropyControl, ObjectiveBatch } from './types.ts';

/** The entropy band [lo(t), hi(t)] at step t (linear or cosine annealing). */
export function entrocraftBand(step: number, p: EntrocraftParams): { lo: number; hi: number } {
  const x = Math.min(Math.max(step / p.total_steps, 0), 1);
  const progress = p.schedule === 'linear' ? x : 0.5 * (1 - Math.cos(Math.PI * x));
  return { lo: p.lo_start + (p.lo_end - p.lo_start) * progress, hi: p.hi_start + (p.hi_end - p.hi_start) * progress };
}

/**
 * Advantages for one batch: H > hi -> max(R+-, 0); H < lo -> min(R+-, 0); otherwise GRPO (group scaling) on `rewards`.
 * `signed`: the +1/-1 rewards of the one-sided branches (default `rewards`, when those already are +1/-1).
 */
export function entrocraftAdvantages(
  rewards: readonly number[],
  groupIds: ReadonlyArray<number | string>,
  meanEntropy: number,
  band: { lo: number; hi: number },
  signed: readonly number[] = rewards,
): { advantages: number[]; branch: 'positive' | 'negative' | 'grpo' } {
  if (meanEntropy > band.hi) return { advantages: signed.map((r) => Math.max(r, 0)), branch: 'positive' };
  if (meanEntropy < band.lo) return { advantages: signed.map((r) => Math.min(r, 0)), branch: 'negative' };
  return { advantages: grpoAdvantages(rewards, groupIds, 'group'), branch: 'grpo' };
}

export function entrocraftControl(p: EntrocraftParams): EntropyControl {
  if (p.lo_start > p.hi_start) throw invalidField('lo_start', `must be <= hi_start (${p.lo_start} > ${p.hi_start})`);
  if (p.lo_end > p.hi_end) throw invalidField('lo_end', `must be <= hi_end (${p.lo_end} > ${p.hi_end})`);
  return {
    name: 'entrocraft',
    adjustBatch: function entrocraftAdjust(batch: ObjectiveBatch) {
      batchDims(batch);
      const H = maskedMeanValue(entropiesOf(batch, 'entrocraft'), batch.mask);
      const band = entrocraftBand(batch.step ?? 0, p);
      // The one-sided branches act on +1/-1 rewards (14: the spec's verifier gives those). A verifier reward here is
      // correctness + a small format bonus (never negative): min(R, 0) would zero every advantage and max(R, 0) would
      // reinforce a well-formatted wrong answer. With correctness known, the sign comes from it.
      const rewards = need(batch, 'rewards', 'entrocraft');
      const signed = batch.correct && batch.correct.length === rewards.length ? batch.correct.map((c) => (c ? 1 : -1)) : rewards;
      const { advantages, branch } = entrocraftAdvantages(rewards, need(batch, 'groupIds', 'entrocraft'), H, band, signed);
      const code = branch === 'positive' ? 1 : branch === 'negative' ? -1 : 0;
      return {
        batch: { ...batch, advantages },
        metrics: { entropy_band_lo: band.lo, entropy_band_hi: band.hi, entropy_batch: H, entrocraft_branch: code },
      };
    },
  };
}

