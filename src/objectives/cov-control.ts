// Entropy control by covariance (7): Clip-Cov drops random high-covariance tokens, KL-Cov penalises the top ones.
import * as tf from '@tensorflow/tfjs';
import { seededRandom, stepSeed, sg2 } from './tensor-ops.ts';
import type { ClipCovParams, KlCovParams } from './params.ts';
import type { EntropyControl, TokenHookContext } from './types.ts';

/** Centred covariance per token, Cov = (A - mean A)(lp - mean lp) over valid tokens; 0 elsewhere. */
export function tokenCovariance(advantages: number[][], logprobs: number[][], mask: number[][]): number[][] {
  let n = 0;
  let sa = 0;
  let sl = 0;
  mask.forEach((row, b) =>
    row.forEach((v, t) => {
      if (v > 0) {
        n++;
        sa += advantages[b]![t]!;
        sl += logprobs[b]![t]!;
      }
    }),
  );
  const ma = n ? sa / n : 0;
  const ml = n ? sl / n : 0;
  return mask.map((row, b) => row.map((v, t) => (v > 0 ? (advantages[b]![t]! - ma) * (logprobs[b]![t]! - ml) : 0)));
}

function contextArrays(ctx: TokenHookContext) {
  return tf.tidy(() => ({
    A: ctx.advantages.arraySync(),
    lp: sg2(ctx.batch.studentLogprobs).arraySync(),
    m: ctx.batch.mask.arraySync(),
    clipped: ctx.clipped.arraySync(),
  }));
}

/** Clip-Cov token choice: n_c = max(1, floor(r N)) of the candidates lb < Cov < ub not clipped by PPO, at random. */
export function clipCovChoice(
  cov: number[][],
  mask: number[][],
  clipped: number[][],
  p: Pick<ClipCovParams, 'ratio' | 'lb' | 'ub'>,
  rand: () => number,
): Array<[number, number]> {
  const cand: Array<[number, number]> = [];
  let n = 0;
  mask.forEach((row, b) =>
    row.forEach((v, t) => {
      if (!(v > 0)) return;
      n++;
      const c = cov[b]![t]!;
      if (c > p.lb && c < p.ub && !(clipped[b]![t]! > 0)) cand.push([b, t]);
    }),
  );
  const k = Math.min(cand.length, Math.max(1, Math.floor(p.ratio * n)));
  for (let i = cand.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [cand[i], cand[j]] = [cand[j]!, cand[i]!];
  }
  return cand.slice(0, k);
}

/** KL-Cov token choice: the k = max(1, floor(f N)) valid tokens with the largest covariance. */
export function klCovChoice(cov: number[][], mask: number[][], fraction: number): Array<[number, number]> {
  const all: Array<{ at: [number, number]; c: number }> = [];
  mask.forEach((row, b) => row.forEach((v, t) => v > 0 && all.push({ at: [b, t], c: cov[b]![t]! })));
  const k = Math.min(all.length, Math.max(1, Math.floor(fraction * all.length)));
  return all.sort((x, y) => y.c - x.c).slice(0, k).map((e) => e.at);
}

function indicator(shape: [number, number], at: Array<[number, number]>): tf.Tensor2D {
  const out = new Float32Array(shape[0] * shape[1]);
  for (const [b, t] of at) out[b * shape[1] + t] = 1;
  return tf.tensor2d(out, shape);
}

export function clipCovControl(p: ClipCovParams): EntropyControl {
  return {
    name: 'clip-cov',
    tokenHook: function clipCovHook(ctx) {
      const { A, lp, m, clipped } = contextArrays(ctx);
      const cov = tokenCovariance(A, lp, m);
      const chosen = clipCovChoice(cov, m, clipped, p, seededRandom(stepSeed(p.seed, ctx.batch.step)));
      const drop = indicator(ctx.batch.mask.shape, chosen);
      const n = m.flat().filter((v) => v > 0).length;
      return {
        perToken: tf.mul(ctx.perToken, tf.sub(1, drop)) as tf.Tensor2D,
        metrics: { cov_dropped_fraction: n ? chosen.length / n : 0 },
      };
    },
  };
}

export function klCovControl(p: KlCovParams): EntropyControl {
  return {
    name: 'kl-cov',
    tokenHook: function klCovHook(ctx) {
      const { A, lp, m } = contextArrays(ctx);
      const cov = tokenCovariance(A, lp, m);
      const chosen = klCovChoice(cov, m, p.fraction);
      const pen = indicator(ctx.batch.mask.shape, chosen);
      const lpOld = ctx.batch.samplingLogprobs ?? sg2(ctx.batch.studentLogprobs);
      const base = tf.neg(tf.mul(ctx.advantages, ctx.ratio)); // l = -A rho, no ratio clipping
      const kl = tf.abs(tf.sub(ctx.batch.studentLogprobs, lpOld));
      const n = m.flat().filter((v) => v > 0).length;
      return {
        perToken: tf.add(base, tf.mul(tf.mul(kl, pen), p.kl_coef)) as tf.Tensor2D,
        metrics: { cov_penalised_fraction: n ? chosen.length / n : 0 },
      };
    },
  };
}
