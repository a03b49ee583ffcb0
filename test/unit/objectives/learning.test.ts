// Learning checks on a small categorical policy (logits [T, V], no transformer): seeded, fixed steps, margins.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  compileObjectives,
  computeLoss,
  grpoAdvantages,
  peakEntropyMask,
  selectiveEntropy,
  topPEntropy,
} from '../../../src/objectives/index.ts';
import type { AepoControl, CompiledObjectives, ObjectiveBatch, ObjectivesOptions, SirenControl } from '../../../src/objectives/index.ts';
import { seededRandom } from '../../../src/objectives/tensor-ops.ts';
import { randomLogits, useCpu } from './helpers.ts';

before(useCpu);

const T = 4;
const V = 5;
const G = 8; // rollouts per group
const P = 2; // groups
const B = G * P;
const TARGET = 2; // the rewarded action

interface Policy {
  z: tf.Variable; // [T, V] logits shared by every sequence
}

function probs(p: Policy): number[][] {
  return tf.tidy(() => tf.softmax(p.z).arraySync() as number[][]);
}

function sample(pr: number[][], rand: () => number, n = B): number[][] {
  return Array.from({ length: n }, () =>
    pr.map((row) => {
      let u = rand();
      for (let v = 0; v < V; v++) if ((u -= row[v]!) <= 0) return v;
      return V - 1;
    }),
  );
}

const meanTarget = (pr: number[][]) => pr.reduce((a, r) => a + r[TARGET]!, 0) / T;
const meanEntropy = (pr: number[][]) => pr.reduce((a, r) => a - r.reduce((s, p) => s + (p > 0 ? p * Math.log(p) : 0), 0), 0) / T;
function reverseKlTo(pr: number[][], teacher: number[][]): number {
  return pr.reduce((a, r, t) => a + r.reduce((s, p, v) => s + p * (Math.log(p) - Math.log(teacher[t]![v]!)), 0), 0) / T;
}

const rewardOf = (row: number[], signed: boolean) => {
  const correct = row.filter((v) => v === TARGET).length >= 2;
  return { correct, reward: signed ? (correct ? 1 : -1) : correct ? 1 : 0 };
};
const groupIdsOf = (n: number) => Array.from({ length: n }, (_, i) => Math.floor(i / G));

interface TrainConfig {
  seed: number;
  lr?: number;
  sgd?: boolean;
  teacherLogits?: number[][];
  signedReward?: boolean;
  initLogits?: number[][];
  /** Optimizer steps per sampled batch (PPO epochs): later ones are off-policy against samplingLogprobs. */
  epochs?: number;
  /** CEEH: which sequences belong to hard questions. */
  hard?: (b: number) => boolean;
}

/**
 * AEPO batch construction (8b) for one step: plan from the previous update's mean entropy, sample G rollouts
 * of the first quarter of the prompts at the planned temperature, GRPO-score them, inject the positives with
 * advantage 1 in place of the first normal rollouts.
 */
function aepoBatch(control: AepoControl, z: tf.Variable, y: number[][], signed: boolean, prevEntropy: number, rand: () => number) {
  const plan = control.plan(prevEntropy);
  const nReg = Math.max(1, Math.floor(P * plan.promptFraction)) * G;
  const tempered = tf.tidy(() => tf.softmax(tf.div(z, plan.temperature)).arraySync() as number[][]);
  const reg = sample(tempered, rand, nReg);
  const regAdv = grpoAdvantages(reg.map((r) => rewardOf(r, signed).reward), groupIdsOf(nReg));
  const normalAdv = grpoAdvantages(y.map((r) => rewardOf(r, signed).reward), groupIdsOf(B));
  const c = control.compose(y, normalAdv, reg, regAdv, prevEntropy);
  return { y: c.rollouts, advantages: c.advantages, injected: c.injected };
}

/** Runs `steps` optimizer steps of the composed objective on freshly sampled batches; returns the policy. */
function train(opts: ObjectivesOptions, steps: number, cfg: TrainConfig): Policy & { injected: number; compiled: CompiledObjectives } {
  const policy: Policy = { z: tf.variable(tf.tensor2d(cfg.initLogits ?? Array.from({ length: T }, () => new Array(V).fill(0)))) };
  const compiled = compileObjectives(opts);
  const opt = cfg.sgd ? tf.train.sgd(cfg.lr ?? 1) : tf.train.adam(cfg.lr ?? 0.1);
  const rand = seededRandom(cfg.seed);
  const teacherFull = cfg.teacherLogits ? tf.logSoftmax(tf.tensor2d(cfg.teacherLogits)) : null; // [T, V]
  const aepo = compiled.entropyControl?.name === 'aepo' ? (compiled.entropyControl.fn as AepoControl) : null;
  let injected = 0;
  for (let step = 0; step < steps; step++) {
    const pr = probs(policy);
    let y = sample(pr, rand);
    let advantages: number[] | undefined;
    if (aepo) {
      const built = aepoBatch(aepo, policy.z, y, cfg.signedReward ?? false, meanEntropy(pr), rand);
      ({ y, advantages } = built);
      injected += built.injected;
    }
    const scored = y.map((row) => rewardOf(row, cfg.signedReward ?? false));
    const yT = tf.tensor2d(y, [B, T], 'int32');
    const lpOld = tf.tidy(() => tf.sum(tf.mul(tf.oneHot(yT, V), tf.logSoftmax(policy.z)), -1)) as tf.Tensor2D; // [B, T]
    for (let epoch = 0; epoch < (cfg.epochs ?? 1); epoch++) {
      opt.minimize(() => {
        const full = tf.tile(tf.expandDims(tf.logSoftmax(policy.z), 0), [B, 1, 1]) as tf.Tensor3D; // [B, T, V]
        const lp = tf.sum(tf.mul(tf.oneHot(yT, V), full), -1) as tf.Tensor2D; // [B, T]
        const batch: ObjectiveBatch = {
          studentLogprobs: lp,
          studentLogprobsFull: full,
          samplingLogprobs: lpOld,
          mask: tf.ones([B, T]) as tf.Tensor2D,
          rewards: scored.map((s) => s.reward),
          correct: scored.map((s) => s.correct),
          groupIds: groupIdsOf(B),
          step,
        };
        if (advantages) batch.advantages = advantages;
        if (cfg.hard) batch.hard = Array.from({ length: B }, (_, b) => cfg.hard!(b));
        if (teacherFull) {
          const tFull = tf.tile(tf.expandDims(teacherFull, 0), [B, 1, 1]) as tf.Tensor3D; // [B, T, V]
          batch.teacherLogprobsFull = tFull;
          batch.teacherLogprobs = tf.sum(tf.mul(tf.oneHot(yT, V), tFull), -1) as tf.Tensor2D;
        }
        return computeLoss(compiled, batch).loss;
      });
    }
  }
  return { ...policy, injected, compiled };
}

/** SIREN's selective entropy (8a steps 1-3, default top-p and quantile) of a policy: what its regulariser holds. */
function selectiveEntropyOf(pr: number[][]): number {
  return tf.tidy(() => {
    const htop = topPEntropy(tf.log(tf.tensor3d([pr])) as tf.Tensor3D, 0.8, 10000); // [1, T]
    const keep = peakEntropyMask(htop.arraySync(), [pr.map(() => 1)], 0.8);
    return selectiveEntropy(htop, tf.tensor2d(keep)).dataSync()[0]!;
  });
}

describe('RL objectives raise the reward', () => {
  const rl: Array<[string, ObjectivesOptions]> = [
    ['grpo', { objective: { name: 'grpo' } }],
    ['dapo', { objective: { name: 'dapo' } }],
    ['bnpo', { objective: { name: 'bnpo' } }],
    ['dr-grpo', { objective: { name: 'dr-grpo' } }],
    ['drpo', { objective: { name: 'drpo', params: { max_length: T } } }],
    ['grpo + top-entropy', { objective: { name: 'grpo' }, token_selector: { name: 'top-entropy', params: { rho: 0.5 } } }],
    ['dapo + clip-cov', { objective: { name: 'dapo' }, entropy_control: { name: 'clip-cov', params: { ratio: 0.05 } } }],
    ['dapo + kl-cov', { objective: { name: 'dapo' }, entropy_control: { name: 'kl-cov', params: { fraction: 0.05 } } }],
  ];
  for (const [name, opts] of rl) {
    test(name, () => {
      const before = 1 / V;
      const p = train(opts, 30, { seed: 1 });
      const after = meanTarget(probs(p));
      assert.ok(after > before + 0.3, `${name}: P(target) ${before.toFixed(3)} -> ${after.toFixed(3)}`);
    });
  }
});

describe('distillation objectives move the student toward the teacher', () => {
  const teacherLogits = randomLogits(1, T, V, 31, 2.5)[0]!;
  const teacher = tf.tidy(() => tf.softmax(tf.tensor2d(teacherLogits)).arraySync() as number[][]);
  const uniform = Array.from({ length: T }, () => new Array(V).fill(1 / V));
  const distill: Array<[string, ObjectivesOptions]> = [
    ['opd-reverse-kl', { objective: { name: 'opd-reverse-kl', params: { reduction: 'token-mean' } } }],
    ['gkd-jsd', { objective: { name: 'gkd-jsd' } }],
    ['kl-mix', { objective: { name: 'kl-mix' } }],
    ['forward-kl', { objective: { name: 'forward-kl' } }],
    ['reverse-kl', { objective: { name: 'reverse-kl' } }],
    ['pw-opsd', { objective: { name: 'pw-opsd', params: { token_clip: 0 } } }],
    ['gkd-jsd + tip', { objective: { name: 'gkd-jsd' }, token_selector: { name: 'tip', params: { ratio: 0.5 } } }],
  ];
  for (const [name, opts] of distill) {
    test(name, () => {
      const before = reverseKlTo(uniform, teacher);
      const p = train(opts, 40, { seed: 2, teacherLogits });
      const after = reverseKlTo(probs(p), teacher);
      assert.ok(after < 0.3 * before, `${name}: KL(pS||pT) ${before.toFixed(3)} -> ${after.toFixed(3)}`);
    });
  }
});

describe('entropy controls keep entropy up while reward rises', () => {
  const steps = 40;
  const cfg: TrainConfig = { seed: 3, signedReward: true, sgd: true, lr: 1 };
  // KL-Cov penalises |lp - lpOld|, which is 0 on the first pass over a batch: it acts from the second epoch on.
  const offPolicy: TrainConfig = { ...cfg, lr: 0.3, epochs: 4 };
  // [name, controlled, plain, config, entropy margin over plain (set well under the measured gap), steps]
  const controlled: Array<[string, ObjectivesOptions, ObjectivesOptions, TrainConfig, number, number?]> = [
    ['ceeh max-entropy', { objective: { name: 'grpo' }, entropy_control: { name: 'ceeh', params: { lambda0: 0.5, total_steps: 200 } } }, { objective: { name: 'grpo' } }, cfg, 0.2],
    ['ceeh entropy advantage', { objective: { name: 'grpo' }, entropy_control: { name: 'ceeh', params: { mode: 'ea' } } }, { objective: { name: 'grpo' } }, { ...cfg, hard: () => true }, 0.04, 60], // seeds 1-6: +0.068..0.111
    ['entrocraft', { objective: { name: 'grpo' }, entropy_control: { name: 'entrocraft', params: { lo_start: 0.9, lo_end: 0.9, hi_start: 1.2, hi_end: 1.2, total_steps: steps } } }, { objective: { name: 'grpo' } }, cfg, 0.2],
    ['clip-cov', { objective: { name: 'dapo' }, entropy_control: { name: 'clip-cov', params: { ratio: 0.2 } } }, { objective: { name: 'dapo' } }, cfg, 0.08], // seeds 1-3: +0.11..0.18
    ['kl-cov', { objective: { name: 'dapo' }, entropy_control: { name: 'kl-cov', params: { fraction: 0.2 } } }, { objective: { name: 'dapo' } }, offPolicy, 0.12], // seeds 1-3: +0.23..0.26
  ];
  for (const [name, opts, plainOpts, c, margin, n = steps] of controlled) {
    test(`${name} (vs plain ${plainOpts.objective.name}, same seed)`, () => {
      const baseline = meanEntropy(probs(train(plainOpts, n, c)));
      const p = train(opts, n, c);
      const pr = probs(p);
      const h = meanEntropy(pr);
      console.log(`${name}: entropy ${h.toFixed(3)} vs plain ${baseline.toFixed(3)}; P(target) ${meanTarget(pr).toFixed(3)}`);
      assert.ok(h > baseline + margin, `${name}: entropy ${h.toFixed(3)} vs plain ${plainOpts.objective.name} ${baseline.toFixed(3)}`);
      assert.ok(meanTarget(pr) > 1 / V + 0.05, `${name}: reward still rises (P(target) ${meanTarget(pr).toFixed(3)})`);
    });
  }
  test('aepo below its target keeps entropy above plain GRPO and above its own above-target branch', () => {
    // target 5 nats: always below -> regulariser rollouts at t_high; target 0: always above -> t_low, half as many.
    const c = cfg;
    const aepo = (params: Record<string, unknown>): ObjectivesOptions => ({
      objective: { name: 'grpo' },
      entropy_control: { name: 'aepo', params: { max_samples: G, ...params } },
    });
    const n = 60;
    const plain = meanEntropy(probs(train({ objective: { name: 'grpo' } }, n, c)));
    const up = train(aepo({ target_entropy: 5, t_high: 2 }), n, c);
    const down = train(aepo({ target_entropy: 0, t_low: 0.5 }), n, c);
    const [hUp, hDown] = [meanEntropy(probs(up)), meanEntropy(probs(down))];
    console.log(`aepo: entropy below-target branch ${hUp.toFixed(3)}, plain GRPO ${plain.toFixed(3)}, above-target branch ${hDown.toFixed(3)}; P(target) ${meanTarget(probs(up)).toFixed(3)} / ${meanTarget(probs(down)).toFixed(3)}; injected ${up.injected} / ${down.injected}`);
    assert.ok(up.injected > 0 && down.injected > 0, 'aepo injected no regulariser rollouts');
    // Seeds 1-5 measured: hUp - plain 0.086..0.162, hUp - hDown 0.084..0.170.
    assert.ok(hUp > plain + 0.05, `aepo below target should keep entropy up: ${hUp.toFixed(3)} vs plain GRPO ${plain.toFixed(3)}`);
    assert.ok(hUp > hDown + 0.05, `aepo: entropy at t_high ${hUp.toFixed(3)} vs at t_low ${hDown.toFixed(3)}`);
    for (const p of [up, down]) assert.ok(meanTarget(probs(p)) > 1 / V + 0.3, `aepo: P(target) ${meanTarget(probs(p)).toFixed(3)}`);
  });
  test('entrocraft holds entropy near its band', () => {
    const p = train(
      { objective: { name: 'grpo' }, entropy_control: { name: 'entrocraft', params: { lo_start: 0.9, lo_end: 0.9, hi_start: 1.2, hi_end: 1.2, total_steps: 60 } } },
      60,
      { seed: 4, signedReward: true, sgd: true, lr: 1 },
    );
    const h = meanEntropy(probs(p));
    assert.ok(h > 0.9 - 0.25 && h < 1.2 + 0.25, `entropy ${h.toFixed(3)} outside [0.65, 1.45]`);
  });
  test('siren holds selective entropy at its anchor while GRPO collapses it; reward rises', () => {
    // lambda sized for this toy (one SGD step of lr 1 per batch); the spec's 0.005 is for an LLM's loss scale.
    const c: TrainConfig = { seed: 3, signedReward: true, sgd: true, lr: 1 };
    const n = 60;
    const grpo = probs(train({ objective: { name: 'grpo' } }, n, c));
    const opts: ObjectivesOptions = { objective: { name: 'grpo' }, entropy_control: { name: 'siren', params: { lambda: 1 } } };
    const p = train(opts, n, c);
    const siren = probs(p);
    const anchor = (p.compiled.entropyControl!.fn as SirenControl).state.anchor;
    assert.ok(anchor !== null && anchor > 0.5, `anchor ${anchor} (the first batch's selective entropy)`);
    const hs = selectiveEntropyOf(siren);
    const hg = selectiveEntropyOf(grpo);
    console.log(`siren: Hsel ${hs.toFixed(3)} (anchor ${anchor.toFixed(3)}) vs GRPO ${hg.toFixed(3)}; entropy ${meanEntropy(siren).toFixed(3)} vs ${meanEntropy(grpo).toFixed(3)}; P(target) ${meanTarget(siren).toFixed(3)} vs ${meanTarget(grpo).toFixed(3)}`);
    assert.ok(Math.abs(hs - anchor) < 0.15, `siren: selective entropy ${hs.toFixed(3)} left its band around the anchor ${anchor.toFixed(3)}`);
    assert.ok(hg < anchor - 0.5, `plain GRPO should collapse selective entropy: ${hg.toFixed(3)} vs anchor ${anchor.toFixed(3)}`);
    assert.ok(meanEntropy(siren) > meanEntropy(grpo), `siren entropy ${meanEntropy(siren).toFixed(3)} <= GRPO ${meanEntropy(grpo).toFixed(3)}`);
    assert.ok(meanTarget(siren) > 1 / V + 0.3, `siren: P(target) ${meanTarget(siren).toFixed(3)}`);
  });
});
