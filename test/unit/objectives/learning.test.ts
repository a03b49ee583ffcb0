// Learning checks on a small categorical policy (logits [T, V], no transformer): seeded, fixed steps, margins.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { compileObjectives, computeLoss } from '../../../src/objectives/index.ts';
import type { ObjectiveBatch, ObjectivesOptions } from '../../../src/objectives/index.ts';
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

function sample(pr: number[][], rand: () => number): number[][] {
  return Array.from({ length: B }, () =>
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

/** Runs `steps` Adam steps of the composed objective on freshly sampled batches; returns the policy. */
function train(
  opts: ObjectivesOptions,
  steps: number,
  cfg: { seed: number; lr?: number; sgd?: boolean; teacherLogits?: number[][]; signedReward?: boolean; initLogits?: number[][] },
): Policy {
  const policy: Policy = { z: tf.variable(tf.tensor2d(cfg.initLogits ?? Array.from({ length: T }, () => new Array(V).fill(0)))) };
  const compiled = compileObjectives(opts);
  const opt = cfg.sgd ? tf.train.sgd(cfg.lr ?? 1) : tf.train.adam(cfg.lr ?? 0.1);
  const rand = seededRandom(cfg.seed);
  const teacherFull = cfg.teacherLogits ? tf.logSoftmax(tf.tensor2d(cfg.teacherLogits)) : null; // [T, V]
  for (let step = 0; step < steps; step++) {
    const y = sample(probs(policy), rand);
    const hits = y.map((row) => row.filter((v) => v === TARGET).length);
    const correct = hits.map((h) => h >= 2);
    const rewards = correct.map((c) => (cfg.signedReward ? (c ? 1 : -1) : c ? 1 : 0));
    const yT = tf.tensor2d(y, [B, T], 'int32');
    const lpOld = tf.tidy(() => tf.sum(tf.mul(tf.oneHot(yT, V), tf.logSoftmax(policy.z)), -1)) as tf.Tensor2D; // [B, T]
    opt.minimize(() => {
      const full = tf.tile(tf.expandDims(tf.logSoftmax(policy.z), 0), [B, 1, 1]) as tf.Tensor3D; // [B, T, V]
      const lp = tf.sum(tf.mul(tf.oneHot(yT, V), full), -1) as tf.Tensor2D; // [B, T]
      const batch: ObjectiveBatch = {
        studentLogprobs: lp,
        studentLogprobsFull: full,
        samplingLogprobs: lpOld,
        mask: tf.ones([B, T]) as tf.Tensor2D,
        rewards,
        correct,
        groupIds: Array.from({ length: B }, (_, i) => Math.floor(i / G)),
        step,
      };
      if (teacherFull) {
        const tFull = tf.tile(tf.expandDims(teacherFull, 0), [B, 1, 1]) as tf.Tensor3D; // [B, T, V]
        batch.teacherLogprobsFull = tFull;
        batch.teacherLogprobs = tf.sum(tf.mul(tf.oneHot(yT, V), tFull), -1) as tf.Tensor2D;
      }
      return computeLoss(compiled, batch).loss;
    });
  }
  return policy;
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
  const cfg = { seed: 3, signedReward: true, sgd: true, lr: 1 };
  const plain = () => meanEntropy(probs(train({ objective: { name: 'grpo' } }, steps, cfg)));
  let baseline = 0;
  before(() => {
    baseline = plain();
  });
  const controlled: Array<[string, ObjectivesOptions, number]> = [
    ['ceeh max-entropy', { objective: { name: 'grpo' }, entropy_control: { name: 'ceeh', params: { lambda0: 0.5, total_steps: 200 } } }, 0.2],
    ['entrocraft', { objective: { name: 'grpo' }, entropy_control: { name: 'entrocraft', params: { lo_start: 0.9, lo_end: 0.9, hi_start: 1.2, hi_end: 1.2, total_steps: steps } } }, 0.2],
  ];
  for (const [name, opts, margin] of controlled) {
    test(name, () => {
      const p = train(opts, steps, cfg);
      const pr = probs(p);
      const h = meanEntropy(pr);
      assert.ok(h > baseline + margin, `${name}: entropy ${h.toFixed(3)} vs plain GRPO ${baseline.toFixed(3)}`);
      assert.ok(meanTarget(pr) > 1 / V + 0.05, `${name}: reward still rises (P(target) ${meanTarget(pr).toFixed(3)})`);
    });
  }
  test('entrocraft holds entropy near its band', () => {
    const p = train(
      { objective: { name: 'grpo' }, entropy_control: { name: 'entrocraft', params: { lo_start: 0.9, lo_end: 0.9, hi_start: 1.2, hi_end: 1.2, total_steps: 60 } } },
      60,
      { seed: 4, signedReward: true, sgd: true, lr: 1 },
    );
    const h = meanEntropy(probs(p));
    assert.ok(h > 0.9 - 0.25 && h < 1.2 + 0.25, `entropy ${h.toFixed(3)} outside [0.65, 1.45]`);
  });
});
