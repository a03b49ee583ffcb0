// AEPO (8b): temperature-switched regulariser rollouts injected with advantage 1 into the GRPO batch.
import type { AepoParams } from './params.ts';
import type { EntropyControl } from './types.ts';

export interface AepoPlan {
  /** Temperature to sample the regulariser rollouts at. */
  temperature: number;
  /** Most regulariser rollouts to inject this step (before counting how many qualify). */
  maxInject: number;
  /** Prompts to take: the first quarter of the batch's prompts. */
  promptFraction: number;
}

/** Step plan from the mean token entropy of the previous update (8b steps 1 and 4). */
export function aepoPlan(meanEntropy: number, p: AepoParams): AepoPlan {
  const low = meanEntropy <= p.target_entropy;
  return {
    temperature: low ? p.t_high : p.t_low,
    maxInject: low ? p.max_samples : Math.floor(p.max_samples / 2),
    promptFraction: 0.25,
  };
}

export interface AepoComposition<R> {
  /** Training rollouts: the injected regulariser rollouts first, then the normal batch minus its first n. */
  rollouts: R[];
  /** Advantages aligned with `rollouts`: 1 for injected, the normal advantage otherwise. */
  advantages: number[];
  injected: number;
}

/**
 * Builds the training batch (8b steps 3-5): regulariser rollouts whose GRPO advantage exceeds the threshold
 * get advantage 1; n = min(K, #kept) (halved when entropy is above target) replace the first n normal rollouts.
 */
export function aepoCompose<R>(
  normal: readonly R[],
  normalAdvantages: readonly number[],
  regulariser: readonly R[],
  regulariserAdvantages: readonly number[],
  meanEntropy: number,
  p: AepoParams,
): AepoComposition<R> {
  const kept = regulariser.filter((_, i) => regulariserAdvantages[i]! > p.adv_threshold);
  const low = meanEntropy <= p.target_entropy;
  const base = Math.min(p.max_samples, kept.length);
  const n = Math.min(low ? base : Math.floor(base / 2), normal.length);
  return {
    rollouts: [...kept.slice(0, n), ...normal.slice(n)],
    advantages: [...new Array<number>(n).fill(1), ...normalAdvantages.slice(n)],
    injected: n,
  };
}

export interface AepoControl extends EntropyControl {
  plan(meanEntropy: number): AepoPlan;
  compose<R>(
    normal: readonly R[],
    normalAdvantages: readonly number[],
    regulariser: readonly R[],
    regulariserAdvantages: readonly number[],
    meanEntropy: number,
  ): AepoComposition<R>;
}

export function aepoControl(p: AepoParams): AepoControl {
  return {
    name: 'aepo',
    plan: (h) => aepoPlan(h, p),
    compose: (normal, normalAdv, reg, regAdv, h) => aepoCompose(normal, normalAdv, reg, regAdv, h, p),
  };
}
