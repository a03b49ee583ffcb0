// Reward shaping over per-sample numbers: PEAR (9d), length budget (9c) and DAPO overlong shaping (3.4).
import { RlmeshError, invalidField } from '../errors.ts';
import type { LengthBudgetParams, OverlongParams, PearParams } from './params.ts';
import type { RewardSample, RewardShaperFn } from './types.ts';

function field<K extends keyof RewardSample>(s: RewardSample, i: number, key: K, method: string): NonNullable<RewardSample[K]> {
  const v = s[key];
  if (v === undefined || v === null) {
    throw new RlmeshError('data', `${method} needs samples[${i}].${String(key)}`, { field: `samples.${i}.${String(key)}` });
  }
  return v as NonNullable<RewardSample[K]>;
}

/** PEAR penalty P = max(0, Hthink - alpha * Hans). */
export function pearPenalty(thinkEntropy: number, answerEntropy: number, alpha: number): number {
  return Math.max(0, thinkEntropy - alpha * answerEntropy);
}

/** PEAR reward: min(1, s - P) when correct, r_fmt when wrong or unparseable. */
export function pearReward(s: RewardSample, i: number, p: PearParams): number {
  if (s.parsed === false) return p.r_fmt;
  if (!field(s, i, 'correct', 'pear')) return p.r_fmt;
  const P = pearPenalty(field(s, i, 'thinkEntropy', 'pear'), s.answerEntropy ?? 0, p.alpha);
  return Math.min(1, p.s - P);
}

/** Triangular (or band) length reward for length `len` under budget L. */
export function lengthReward(len: number, L: number, rMax: number, variant: 'triangular' | 'band'): number {
  if (len <= L) return variant === 'band' ? rMax : (rMax * len) / L;
  if (len <= 2 * L) return rMax * (1 - (len - L) / L);
  return 0;
}

export function lengthBudgetReward(s: RewardSample, i: number, p: LengthBudgetParams): number {
  const c = field(s, i, 'correct', 'length-budget') ? 1 : 0;
  const budget = field(s, i, 'budget', 'length-budget');
  if (!(budget > 0)) throw new RlmeshError('data', `samples[${i}].budget must be > 0, got ${budget}`, { field: `samples.${i}.budget` });
  const rLen = lengthReward(field(s, i, 'length', 'length-budget'), budget, p.r_max, p.variant);
  const fmt = p.a_think * (s.thinkWellFormed ? 1 : 0) + p.a_ans * (s.answerWellFormed ? 1 : 0);
  return p.lc * p.r_cor * c + p.ll * rLen + p.lf * fmt;
}

/** Overlong penalty min(-(len - (L_max - L_buf)) / L_buf * kappa, 0), added to the reward; -kappa past L_max (DAPO). */
export function overlongPenalty(len: number, p: OverlongParams): number {
  const expected = p.max_length - p.buffer;
  return Math.min(Math.max((-(len - expected) / p.buffer) * p.kappa, -p.kappa), 0);
}

export function pearShaper(p: PearParams): RewardShaperFn {
  return function pearShape(samples) {
    return samples.map((s, i) => pearReward(s, i, p));
  };
}

export function lengthBudgetShaper(p: LengthBudgetParams): RewardShaperFn {
  return function lengthBudgetShape(samples) {
    return samples.map((s, i) => lengthBudgetReward(s, i, p));
  };
}

export function overlongShaper(p: OverlongParams): RewardShaperFn {
  if (p.buffer > p.max_length) throw invalidField('buffer', `must be <= max_length (${p.buffer} > ${p.max_length})`);
  return function overlongShape(samples) {
    return samples.map((s, i) => s.reward + overlongPenalty(field(s, i, 'length', 'overlong'), p));
  };
}
