// Every hand-computed case of ALGORITHMS.md sections 0-9 and 14 (objectives), with tolerances.
import { entrocraftControl } from '../../../src/objectives/entrocraft.ts';
import { batchOf, logits } from './fixtures.ts';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  aepoPlan,
  aepoCompose,
  aggregate,
  ceehLengthReward,
  ceehUpdateAccuracy,
  clipCovChoice,
  clippedSurrogate,
  compileMethod,
  drpoLengthWeights,
  entrocraftAdvantages,
  entrocraftBand,
  grpoAdvantages,
  klCovChoice,
  lengthReward,
  opdAdvantages,
  overlongPenalty,
  peakEntropyMask,
  positionWeights,
  quantile,
  tipQuadrant,
  tipWeight,
  tokenCovariance,
  topEntropyMask,
  topPEntropy,
} from '../../../src/objectives/index.ts';
import { seededRandom } from '../../../src/objectives/tensor-ops.ts';
import type { ObjectiveBatch, SirenControl } from '../../../src/objectives/index.ts';
import { close, logProbs3, useCpu } from './helpers.ts';

before(useCpu);

const pS = [0.5, 0.5];
const pT = [0.9, 0.1];
/** One sequence, one token, V = 2: student (0.5, 0.5), teacher (0.9, 0.1). */
function twoTokenBatch(): ObjectiveBatch {
  return {
    studentLogprobs: tf.tensor2d([[Math.log(0.5)]]),
    mask: tf.tensor2d([[1]]),
    studentLogprobsFull: logProbs3([[pS]]),
    teacherLogprobsFull: logProbs3([[pT]]),
  };
}
const lossOf = (name: 'gkd-jsd' | 'kl-mix' | 'pw-opsd', params: Record<string, unknown>) =>
  compileMethod('objective', name, params).fn(twoTokenBatch()).loss.dataSync()[0]!;

describe('0.2 aggregators', () => {
  test('per-token losses [2] and [1,1,1], T_max = 4', () => {
    const l = tf.tensor2d([[2, 0, 0, 0], [1, 1, 1, 0]]);
    const m = tf.tensor2d([[1, 0, 0, 0], [1, 1, 1, 0]]);
    close(aggregate(l, m, 'seq-mean-token-mean').dataSync()[0]!, 1.5);
    close(aggregate(l, m, 'token-mean').dataSync()[0]!, 1.25);
    close(aggregate(l, m, 'seq-sum-norm', { maxLength: 4 }).dataSync()[0]!, 0.625);
    close(aggregate(l, m, 'seq-mean-token-sum').dataSync()[0]!, 2.5);
  });
  test('0.4 linear-interpolation quantile', () => {
    close(quantile([0.1, 0.5, 2.0, 1.0, 0.3], 0.8), 1.2);
  });
});

describe('1a OPD', () => {
  const lpOld = tf.tensor2d([[-0.5, -1.0]]);
  const lpT = tf.tensor2d([[-0.7, -0.2]]);
  const m = tf.tensor2d([[1, 1]]);
  test('advantages without and with discount', () => {
    const a0 = opdAdvantages(lpOld, lpT, m, 1, 0).dataSync();
    close(a0[0]!, -0.2, 1e-6);
    close(a0[1]!, 0.8, 1e-6);
    const a1 = opdAdvantages(lpOld, lpT, m, 1, 0.5).dataSync();
    close(a1[0]!, 0.2, 1e-6);
    close(a1[1]!, 0.8, 1e-6);
  });
  test('loss at ratio 1 is -(A1 + A2)', () => {
    const opd = compileMethod('objective', 'opd-reverse-kl', { discount: 0.5 }).fn;
    const r = opd({ studentLogprobs: lpOld, samplingLogprobs: lpOld, teacherLogprobs: lpT, mask: m });
    close(r.loss.dataSync()[0]!, -(0.2 + 0.8), 1e-6);
    close(r.metrics.kl!, (0.2 - 0.8) / 2, 1e-6);
  });
});

describe('1b GKD generalized JSD and 2 KL mixing', () => {
  test('beta = 0, 1, 0.5', () => {
    close(lossOf('gkd-jsd', { beta: 0 }), 0.36806);
    close(lossOf('gkd-jsd', { beta: 1 }), 0.51083);
    close(lossOf('gkd-jsd', { beta: 0.5 }), 0.10175);
  });
  test('forward, reverse, lambda = 0.25', () => {
    close(compileMethod('objective', 'forward-kl', {}).fn(twoTokenBatch()).loss.dataSync()[0]!, 0.36806);
    close(compileMethod('objective', 'reverse-kl', {}).fn(twoTokenBatch()).loss.dataSync()[0]!, 0.51083);
    close(lossOf('kl-mix', { lambda: 0.25 }), 0.40375);
  });
});

describe('3 GRPO family', () => {
  test('group advantages and Dr.GRPO', () => {
    const a = grpoAdvantages([1, 0, 0, 1], [0, 0, 0, 0], 'group');
    [0.866, -0.866, -0.866, 0.866].forEach((e, i) => close(a[i]!, e, 1e-3));
    const d = grpoAdvantages([1, 0, 0, 1], [0, 0, 0, 0], 'none');
    assert.deepEqual(d, [0.5, -0.5, -0.5, 0.5]);
  });
  const surrogate = (A: number, rho: number, opts: { dualClip: number | null }) => {
    const lpOld = tf.tensor2d([[-1]]);
    const f = (lp: tf.Tensor) =>
      clippedSurrogate(lp as tf.Tensor2D, lpOld, tf.tensor2d([[A]]), tf.tensor2d([[1]]), {
        epsLow: 0.2,
        epsHigh: 0.28,
        dualClip: opts.dualClip,
        importanceLevel: 'token',
      }).perToken.sum();
    const lp = tf.tensor2d([[-1 + Math.log(rho)]]);
    return { value: f(lp).dataSync()[0]!, grad: tf.grad(f)(lp).dataSync()[0]! };
  };
  test('clip-higher: A = 1, rho = 1.5 -> -1.28, no gradient', () => {
    const r = surrogate(1, 1.5, { dualClip: null });
    close(r.value, -1.28, 1e-5);
    assert.equal(r.grad, 0);
  });
  test('clip-low: A = -1, rho = 0.5 -> 0.8, no gradient', () => {
    const r = surrogate(-1, 0.5, { dualClip: 3 });
    close(r.value, 0.8, 1e-5);
    assert.equal(r.grad, 0);
  });
  test('dual clip: A = -1, rho = 5 -> capped at 3, no gradient', () => {
    close(surrogate(-1, 5, { dualClip: null }).value, 5, 1e-4);
    const r = surrogate(-1, 5, { dualClip: 3 });
    close(r.value, 3, 1e-5);
    assert.equal(r.grad, 0);
  });
  test('3.4 overlong shaping', () => {
    const p = { max_length: 20, buffer: 4, kappa: 1 };
    close(overlongPenalty(18, p), -0.5, 1e-12);
    assert.equal(overlongPenalty(15, p), 0);
    close(overlongPenalty(400, p), -1, 1e-12); // -kappa past L_max
    const shaped = compileMethod('reward_shaping', 'overlong', p).fn([{ reward: 1, length: 18 }, { reward: 1, length: 15 }]);
    assert.deepEqual(shaped, [0.5, 1]);
  });
});

describe('4 TIP', () => {
  test('weights and quadrants', () => {
    const Hn = [0.9, 0.1, 0.1];
    const Dn = [0.1, 0.8, 0.05];
    [0.09, 0.08, 0.005].forEach((e, i) => close(tipWeight(Hn[i]!, Dn[i]!, 1, 1), e, 1e-9));
    assert.deepEqual(Hn.map((h, i) => tipQuadrant(h, Dn[i]!, 0.5, 0.5)), ['Q2', 'Q3', 'Q4']);
  });
});

describe('5 top-entropy selection', () => {
  test('tau = 1.2, only the 2.0 token kept, TOKEN_MEAN denominator stays 5', () => {
    const H = [[0.1, 0.5, 2.0, 1.0, 0.3]];
    const { keep, tau } = topEntropyMask(H, [[1, 1, 1, 1, 1]], 0.2);
    close(tau, 1.2, 1e-9);
    assert.deepEqual(keep, [[0, 0, 1, 0, 0]]);
    const sel = compileMethod('token_selector', 'top-entropy', { rho: 0.2 }).fn({
      studentLogprobs: tf.zeros([1, 5]) as tf.Tensor2D,
      mask: tf.ones([1, 5]) as tf.Tensor2D,
      entropies: tf.tensor2d(H),
    });
    const l = tf.tensor2d([[1, 1, 3, 1, 1]]);
    close(aggregate(l, tf.ones([1, 5]) as tf.Tensor2D, 'token-mean', { selection: sel }).dataSync()[0]!, 3 / 5, 1e-6);
    close(sel.metrics.kept_token_fraction!, 0.2, 1e-6);
  });
});

describe('6 PW-OPSD', () => {
  test('position weights for L = 2 and L = 4', () => {
    const p = { w_min: 0.25, tau: 0.3, s: 0.1 };
    const w2 = positionWeights(tf.tensor2d([[1, 1, 0, 0]]), p).dataSync();
    [0.5332, 0.9918, 0, 0].forEach((e, i) => close(w2[i]!, e, 1e-4));
    const w4 = positionWeights(tf.tensor2d([[0, 1, 1, 1, 1]]), p).dataSync();
    [0, 0.361, 0.7594, 0.972, 0.9976].forEach((e, i) => close(w4[i]!, e, 1e-4));
  });
  test('per-vocab clipped forward KL: l = -0.1109', () => {
    close(lossOf('pw-opsd', { position_weights: false }), -0.1109, 1e-4);
    close(lossOf('pw-opsd', { position_weights: false, token_clip: 0 }), 0.36806, 1e-4);
  });
});

describe('7 Clip-Cov / KL-Cov', () => {
  const A = [[2, 2, -2, -2]];
  const lp = [[-0.1, -2, -0.1, -2]];
  const m = [[1, 1, 1, 1]];
  test('covariance', () => {
    tokenCovariance(A, lp, m)[0]!.forEach((c, i) => close(c, [1.9, -1.9, -1.9, 1.9][i]!, 1e-9));
  });
  test('KL-Cov with f = 0.5 penalises tokens 0 and 3', () => {
    const chosen = klCovChoice(tokenCovariance(A, lp, m), m, 0.5).map(([, t]) => t).sort();
    assert.deepEqual(chosen, [0, 3]);
  });
  test('Clip-Cov (lb 1, ub 5, r 0.25) zeroes exactly one of tokens 0 and 3', () => {
    const seen = new Set<number>();
    for (let s = 0; s < 20; s++) {
      const chosen = clipCovChoice(tokenCovariance(A, lp, m), m, [[0, 0, 0, 0]], { ratio: 0.25, lb: 1, ub: 5 }, seededRandom(s));
      assert.equal(chosen.length, 1);
      assert.ok([0, 3].includes(chosen[0]![1]));
      seen.add(chosen[0]![1]);
    }
    assert.deepEqual([...seen].sort(), [0, 3]); // uniform choice reaches both candidates
  });
});

describe('8 entropy regularisers', () => {
  test('SIREN top-p entropy of (0.5, 0.3, 0.15, 0.05) at p = 0.9 is 0.6616', () => {
    const h = topPEntropy(logProbs3([[[0.5, 0.3, 0.15, 0.05], [0.95, 0.03, 0.01, 0.01]]]), 0.9, 10000).dataSync();
    close(h[0]!, 0.6616, 1e-4);
    close(h[1]!, 0, 1e-9); // top-1 alone reaches p
  });
  test('SIREN top-p keeps only cut ids when probabilities tie at the cut', () => {
    // uniform over 4 at p = 0.55: C = (0.25, 0.5, 0.75, 1) -> cut = 2 -> two ids -> ln 2 (not ln 4 from every tie)
    const h = topPEntropy(logProbs3([[[0.25, 0.25, 0.25, 0.25], [0.3, 0.3, 0.3, 0.1]]]), 0.55, 10000).dataSync();
    close(h[0]!, Math.log(2), 1e-5);
    // (0.3, 0.3, 0.3, 0.1) at p = 0.55: C = (0.3, 0.6, ...) -> cut = 1 -> one of the three tied ids -> 0 (not ln 3)
    close(h[1]!, 0, 1e-6);
  });
  test('SIREN: a batch with no peak token adds no loss and does not set the anchor', () => {
    const siren = compileMethod('entropy_control', 'siren', { lambda: 1 }).fn as SirenControl;
    const uniform: ObjectiveBatch = {
      studentLogprobs: tf.zeros([2, 3]) as tf.Tensor2D,
      mask: tf.ones([2, 3]) as tf.Tensor2D,
      studentLogprobsFull: logProbs3([0, 1].map(() => [0, 1, 2].map(() => [0.25, 0.25, 0.25, 0.25]))),
    };
    const r = siren.extraLoss!(uniform); // every Htop ties: nothing is above its response's quantile
    assert.equal(r.loss.dataSync()[0], 0);
    assert.equal(r.metrics.siren_kept_tokens, 0);
    assert.equal(siren.state.anchor, null);
    const peaked: ObjectiveBatch = { ...uniform, studentLogprobsFull: logProbs3([0, 1].map(() => [[0.25, 0.25, 0.25, 0.25], [0.5, 0.2, 0.2, 0.1], [0.9, 0.05, 0.03, 0.02]])) };
    const s = siren.extraLoss!(peaked);
    // Htop per response = (ln 3, H(5/7, 2/7) = 0.598, 0): only the first is above the 0.8-quantile 0.899
    close(s.metrics.selective_entropy!, Math.log(3), 1e-5);
    assert.equal(s.metrics.siren_kept_tokens, 2);
    close(siren.state.anchor!, s.metrics.selective_entropy!, 1e-9);
  });
  test('SIREN peak mask and anchored regulariser', () => {
    const keep = peakEntropyMask([[0.1, 0.2, 0.3, 0.4, 1.0]], [[1, 1, 1, 1, 1]], 0.8);
    assert.deepEqual(keep, [[0, 0, 0, 0, 1]]);
    close(quantile([0.1, 0.2, 0.3, 0.4, 1.0], 0.8), 0.52, 1e-9);
    // Hsel = 1.0, anchor 0.8 -> 0.005 * 0.04: built from distributions with those top-p entropies
    // Each row's top-p set (p = 0.995) is its first two ids (mass 0.99); renormalised, they have entropy h.
    const siren = compileMethod('entropy_control', 'siren', { anchor: 0.8, top_p: 0.995 }).fn;
    const ent = (h: number) => { // two-way split with entropy h (solve numerically)
      let lo = 1e-6, hi = 0.5;
      for (let i = 0; i < 60; i++) {
        const p = (lo + hi) / 2;
        const e = -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
        if (e < h) lo = p; else hi = p;
      }
      return [(lo + hi) / 2, 1 - (lo + hi) / 2];
    };
    const rows = [0.1, 0.2, 0.3, 0.4, 0.5].map((h, i) => [...(i === 4 ? [0.5, 0.5] : ent(h)).map((x) => 0.99 * x), 0.01]);
    const batch: ObjectiveBatch = {
      studentLogprobs: tf.zeros([1, 5]) as tf.Tensor2D,
      mask: tf.ones([1, 5]) as tf.Tensor2D,
      studentLogprobsFull: logProbs3([rows]),
    };
    const r = siren.extraLoss!(batch);
    close(r.metrics.selective_entropy!, Math.log(2), 1e-4);
    close(r.loss.dataSync()[0]!, 0.005 * (Math.log(2) - 0.8) ** 2, 1e-7);
    close(0.005 * (1.0 - 0.8) ** 2, 2e-4, 1e-12);
  });
  test('AEPO plan and composition', () => {
    const p = compileMethod('entropy_control', 'aepo', {}).params as Parameters<typeof aepoPlan>[1];
    assert.deepEqual(aepoPlan(0.3, p), { temperature: 1.2, maxInject: 60, promptFraction: 0.25 });
    assert.deepEqual(aepoPlan(0.7, p), { temperature: 0.8, maxInject: 30, promptFraction: 0.25 });
    const normal = Array.from({ length: 100 }, (_, i) => `n${i}`);
    const reg = Array.from({ length: 80 }, (_, i) => `r${i}`);
    const regAdv = reg.map((_, i) => (i < 70 ? 0.5 : 0.01));
    const low = aepoCompose(normal, normal.map(() => 0.2), reg, regAdv, 0.3, p);
    assert.equal(low.injected, 60);
    assert.equal(low.rollouts.length, 100);
    assert.equal(low.advantages[0], 1);
    assert.equal(low.advantages[60], 0.2);
    assert.equal(aepoCompose(normal, normal.map(() => 0), reg, regAdv, 0.7, p).injected, 30);
  });
});

describe('9 efficient reasoning', () => {
  test('DRPO length weights', () => {
    const w = drpoLengthWeights([0.2 * 8192, 0.6 * 8192], 8192, 0.1);
    close(w[0]!, 0.982, 1e-4);
    close(w[1]!, 0.018, 1e-4);
  });
  test('CEEH accuracy EMA and length penalty', () => {
    close(ceehUpdateAccuracy(0.5, 0.75), 0.55, 1e-12);
    close(ceehUpdateAccuracy(0.5, 0.25), 0.4875, 1e-12);
    close(ceehLengthReward(1, { length: 150, shortest: 100, correct: true, acc: 0.8, accEma: 0.5 }, 0.1), 0.95, 1e-12);
    assert.equal(ceehLengthReward(1, { length: 150, shortest: 100, correct: true, acc: 0.4, accEma: 0.5 }, 0.1), 1);
  });
  test('Train-Long-Think-Short triangular length reward, L = 100', () => {
    close(lengthReward(50, 100, 1, 'triangular'), 0.5, 1e-12);
    close(lengthReward(150, 100, 1, 'triangular'), 0.5, 1e-12);
    assert.equal(lengthReward(250, 100, 1, 'triangular'), 0);
    const shaped = compileMethod('reward_shaping', 'length-budget', {}).fn([
      { reward: 0, correct: true, length: 50, budget: 100, thinkWellFormed: true, answerWellFormed: true },
    ]);
    close(shaped[0]!, 0.6 + 0.3 * 0.5 + 0.1, 1e-12);
  });
  test('PEAR', () => {
    const pear = compileMethod('reward_shaping', 'pear', {}).fn;
    const r = pear([
      { reward: 1, correct: true, thinkEntropy: 1.2, answerEntropy: 0.4 },
      { reward: 1, correct: true, thinkEntropy: 0.3, answerEntropy: 0.4 },
      { reward: 0, correct: false, thinkEntropy: 0.3, answerEntropy: 0.4 },
    ]);
    close(r[0]!, 0.2, 1e-12);
    assert.deepEqual(r.slice(1), [1, 0]);
  });
});

describe('14 Entrocraft', () => {
  test('band at t = T/2 and the three branches', () => {
    const p = compileMethod('entropy_control', 'entrocraft', { total_steps: 100 }).params as Parameters<typeof entrocraftBand>[1];
    const band = entrocraftBand(50, p);
    close(band.lo, 0.5, 1e-12);
    close(band.hi, 0.6, 1e-12);
    const R = [1, -1, 1, -1];
    const g = [0, 0, 0, 0];
    assert.deepEqual(entrocraftAdvantages(R, g, 0.65, band).advantages, [1, 0, 1, 0]);
    assert.deepEqual(entrocraftAdvantages(R, g, 0.45, band).advantages, [0, -1, 0, -1]);
    const mid = entrocraftAdvantages(R, g, 0.55, band);
    assert.equal(mid.branch, 'grpo');
    assert.deepEqual(mid.advantages, grpoAdvantages(R, g, 'group'));
  });

  test('with verifier rewards (correctness + format bonus, never negative) the one-sided branches take their sign from correctness', () => {
    const R = [1.1, 0.1, 0.1, 1.1];
    const signed = [1, -1, -1, 1];
    const band = { lo: 0.5, hi: 0.6 };
    assert.deepEqual(entrocraftAdvantages(R, [0, 0, 0, 0], 0.65, band, signed).advantages, [1, 0, 0, 1]);
    assert.deepEqual(entrocraftAdvantages(R, [0, 0, 0, 0], 0.45, band, signed).advantages, [0, -1, -1, 0]);
    // the control reads the sign from the batch's correctness (a band below any entropy forces the positive branch)
    const control = entrocraftControl({ lo_start: 0, lo_end: 0, hi_start: 0, hi_end: 0, total_steps: 10, schedule: 'linear' } as Parameters<typeof entrocraftControl>[0]);
    const batch = { ...batchOf(tf.tensor3d(logits)), rewards: R, correct: [true, false, false, true], groupIds: [0, 0, 0, 0] };
    assert.deepEqual(control.adjustBatch!(batch).batch.advantages, [1, 0, 0, 1]);
  });
});
