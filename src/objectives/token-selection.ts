// Token selectors: top-entropy quantile (5) and TIP weighted sampling / quadrant rules (4).
import * as tf from '@tensorflow/tfjs';
import { keptFraction } from './aggregate.ts';
import { distributionPair, generalizedJsd } from './divergence.ts';
import { batchDims, entropiesOf, entropyFromLogprobs, quantile, seededRandom, sg, stepSeed } from './tensor-ops.ts';
import type { TipParams, TopEntropyParams } from './params.ts';
import type { ObjectiveBatch, Selection, TokenSelectorFn } from './types.ts';

/** Keep mask for the top-rho fraction by entropy: tau = quantile(H_valid, 1 - rho), keep H >= tau. */
export function topEntropyMask(entropies: number[][], mask: number[][], rho: number): { keep: number[][]; tau: number } {
  const valid: number[] = [];
  entropies.forEach((row, b) => row.forEach((h, t) => mask[b]![t]! > 0 && valid.push(h)));
  if (valid.length === 0) return { keep: mask.map((r) => r.map(() => 0)), tau: Infinity };
  const tau = quantile(valid, 1 - rho);
  const keep = entropies.map((row, b) => row.map((h, t) => (mask[b]![t]! > 0 && h >= tau ? 1 : 0)));
  return { keep, tau };
}

export function topEntropySelector(p: TopEntropyParams): TokenSelectorFn {
  return function topEntropySelect(batch: ObjectiveBatch): Selection {
    batchDims(batch);
    const H = entropiesOf(batch, 'top-entropy').arraySync();
    const { keep, tau } = topEntropyMask(H, batch.mask.arraySync(), p.rho);
    const keepT = tf.tensor2d(keep, batch.mask.shape);
    return { keep: keepT, denominator: 'valid', metrics: { kept_token_fraction: keptFraction(keepT, batch.mask), entropy_threshold: tau } };
  };
}

/** TIP sampling weight w = max(Hn, 1e-8)^alpha * max(Dn, 1e-8)^gamma. */
export function tipWeight(hn: number, dn: number, alpha: number, gamma: number): number {
  return Math.max(hn, 1e-8) ** alpha * Math.max(dn, 1e-8) ** gamma;
}

export const TipQuadrant = { q1: 'Q1', q2: 'Q2', q3: 'Q3', q4: 'Q4' } as const;
export type TipQuadrant = (typeof TipQuadrant)[keyof typeof TipQuadrant];

/** Quadrant of a token: high/low normalised entropy x high/low normalised divergence (Q3 = confident and wrong). */
export function tipQuadrant(hn: number, dn: number, tauH: number, tauD: number): TipQuadrant {
  const highH = hn >= tauH;
  const highD = dn > tauD;
  if (highH) return highD ? 'Q1' : 'Q2';
  return highD ? 'Q3' : 'Q4';
}

/** k distinct indices drawn with probability proportional to weights, without replacement (Efraimidis-Spirakis). */
export function weightedSampleWithoutReplacement(weights: readonly number[], k: number, rand: () => number): number[] {
  const keys = weights.map((w, i) => ({ i, key: w > 0 ? Math.log(Math.max(rand(), 1e-300)) / w : -Infinity }));
  keys.sort((a, b) => b.key - a.key);
  return keys.slice(0, Math.min(k, weights.length)).map((e) => e.i).sort((a, b) => a - b);
}

export function tipSelector(p: TipParams): TokenSelectorFn {
  return function tipSelect(batch: ObjectiveBatch): Selection {
    const { B, T } = batchDims(batch);
    const pair = distributionPair(batch, 'tip');
    const V = pair.student.shape[2];
    const [hn, dn] = tf.tidy(() => {
      const student = sg(pair.student) as tf.Tensor3D;
      const H = tf.div(entropyFromLogprobs(student), Math.log(V)); // [B, T]
      const D = tf.div(generalizedJsd({ student, teacher: pair.teacher }, 0.5), Math.log(2)); // [B, T]
      return [H.arraySync() as number[][], D.arraySync() as number[][]];
    });
    const m = batch.mask.arraySync();
    const pos: Array<[number, number]> = [];
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) if (m[b]![t]! > 0) pos.push([b, t]);
    const keep = m.map((r) => r.map(() => 0));
    const counts = { Q1: 0, Q2: 0, Q3: 0, Q4: 0 };
    if (pos.length > 0) {
      const hv = pos.map(([b, t]) => hn[b]![t]!);
      const dv = pos.map(([b, t]) => dn[b]![t]!);
      const tauH = p.tau_h ?? quantile(hv, 0.5);
      const tauD = p.tau_d ?? quantile(dv, 0.5);
      const quads = pos.map((_, i) => tipQuadrant(hv[i]!, dv[i]!, tauH, tauD));
      quads.forEach((q) => counts[q]++);
      const k = Math.max(1, Math.floor(p.ratio * pos.length));
      let chosen: number[] = [];
      if (p.rule === 'weighted') {
        const w = pos.map((_, i) => tipWeight(hv[i]!, dv[i]!, p.alpha, p.gamma));
        chosen = weightedSampleWithoutReplacement(w, k, seededRandom(stepSeed(p.seed, batch.step)));
      } else {
        chosen = quads.flatMap((q, i) => (q === 'Q3' ? [i] : []));
        if (p.rule === 'union') {
          const byH = hv.map((h, i) => ({ h, i })).sort((a, b) => b.h - a.h).slice(0, k);
          chosen = [...new Set([...chosen, ...byH.map((e) => e.i)])];
        }
      }
      for (const i of chosen) keep[pos[i]![0]]![pos[i]![1]] = 1;
    }
    const keepT = tf.tensor2d(keep, [B, T]);
    const n = Math.max(pos.length, 1);
    return {
      keep: keepT,
      denominator: 'kept',
      metrics: {
        kept_token_fraction: keptFraction(keepT, batch.mask),
        q1_fraction: counts.Q1 / n,
        q2_fraction: counts.Q2 / n,
        q3_fraction: counts.Q3 / n,
        q4_fraction: counts.Q4 / n,
      },
    };
  };
}
