// Shared gradient fixtures: a tiny batch whose student tensors are functions of the logits, and every
// composition (objective, selector, entropy control) with a differentiable loss.
import * as tf from '@tensorflow/tfjs';
import type { ObjectiveBatch, ObjectivesOptions } from '../../../src/objectives/index.ts';
import { randomLogits, randn } from './helpers.ts';

const B = 4;
const T = 3;
const V = 4;
export const logits = randomLogits(B, T, V, 11);
const teacher = randomLogits(B, T, V, 23, 1.5);
const y = [[0, 1, 2], [3, 1, 0], [2, 2, 1], [1, 0, 3]];
const mask = [[1, 1, 1], [1, 1, 0], [1, 1, 1], [1, 0, 0]];
const noise = randn(B * T, 5, 0.05);

/** A batch whose student tensors are functions of the logits z [B, T, V]. */
export function batchOf(z: tf.Tensor3D): ObjectiveBatch {
  const full = tf.logSoftmax(z) as tf.Tensor3D; // [B, T, V]
  const lp = tf.sum(tf.mul(tf.oneHot(tf.tensor2d(y, [B, T], 'int32'), V), full), -1) as tf.Tensor2D; // [B, T]
  const lpConst = tf.tidy(() => {
    const f = tf.logSoftmax(tf.tensor3d(logits));
    return tf.sum(tf.mul(tf.oneHot(tf.tensor2d(y, [B, T], 'int32'), V), f), -1);
  });
  const tFull = tf.logSoftmax(tf.tensor3d(teacher)) as tf.Tensor3D;
  return {
    studentLogprobs: lp,
    studentLogprobsFull: full,
    mask: tf.tensor2d(mask),
    samplingLogprobs: tf.add(lpConst, tf.tensor2d(noise, [B, T])) as tf.Tensor2D, // ratio near 1
    teacherLogprobs: tf.sum(tf.mul(tf.oneHot(tf.tensor2d(y, [B, T], 'int32'), V), tFull), -1) as tf.Tensor2D,
    teacherLogprobsFull: tFull,
    referenceLogprobs: tf.add(lpConst, tf.tensor2d(randn(B * T, 9, 0.3), [B, T])) as tf.Tensor2D,
    rewards: [1, 0, 0.5, 1],
    groupIds: [0, 0, 1, 1],
    correct: [true, false, false, true],
    hard: [true, false, true, false],
    step: 3,
  };
}

// [name, options, finite-difference eps (smaller where a clip kink sits near the sample point)]
export const cases: Array<[string, ObjectivesOptions, number?]> = [
  ['opd-reverse-kl', { objective: { name: 'opd-reverse-kl', params: { discount: 0.5 } } }],
  ['opd-reverse-kl + env reward', { objective: { name: 'opd-reverse-kl', params: { with_env_reward: true } } }],
  ['gkd-jsd beta 0.3', { objective: { name: 'gkd-jsd', params: { beta: 0.3 } } }],
  ['gkd-jsd beta 0', { objective: { name: 'gkd-jsd', params: { beta: 0 } } }],
  ['gkd-jsd beta 1', { objective: { name: 'gkd-jsd', params: { beta: 1 } } }],
  ['kl-mix', { objective: { name: 'kl-mix' } }],
  ['forward-kl', { objective: { name: 'forward-kl' } }],
  ['reverse-kl', { objective: { name: 'reverse-kl' } }],
  ['pw-opsd (clipped forward KL)', { objective: { name: 'pw-opsd', params: { token_clip: 0.05 } } }, 1e-3],
  ['pw-opsd beta 0.5', { objective: { name: 'pw-opsd', params: { beta: 0.5, reduction: 'token-mean' } } }],
  ['grpo + k3 + entropy bonus', { objective: { name: 'grpo', params: { kl_coef: 0.1, entropy_coef: 0.05 } } }],
  ['dapo', { objective: { name: 'dapo' } }],
  ['bnpo sequence ratio', { objective: { name: 'bnpo', params: { importance_level: 'sequence' } } }],
  ['dr-grpo + OPD advantage', { objective: { name: 'dr-grpo', params: { opd_kl_coef: 0.5, max_completion_length: 8 } } }],
  ['drpo', { objective: { name: 'drpo', params: { beta: 10, delta: 0 } } }],
  ['grpo + top-entropy', { objective: { name: 'grpo' }, token_selector: { name: 'top-entropy', params: { rho: 0.5 } } }],
  ['gkd-jsd + tip', { objective: { name: 'gkd-jsd' }, token_selector: { name: 'tip', params: { rule: 'weighted' } } }],
  ['dapo + clip-cov', { objective: { name: 'dapo' }, entropy_control: { name: 'clip-cov', params: { ratio: 0.2, lb: -10, ub: 10 } } }],
  ['dapo + kl-cov', { objective: { name: 'dapo' }, entropy_control: { name: 'kl-cov', params: { fraction: 0.3 } } }],
  ['grpo + siren', { objective: { name: 'grpo' }, entropy_control: { name: 'siren', params: { lambda: 1, anchor: 0.1, top_p: 0.95 } } }],
  ['grpo + ceeh me', { objective: { name: 'grpo' }, entropy_control: { name: 'ceeh', params: { lambda0: 0.1 } } }],
  ['grpo + ceeh ea', { objective: { name: 'grpo' }, entropy_control: { name: 'ceeh', params: { mode: 'ea' } } }],
  ['grpo + entrocraft', { objective: { name: 'grpo' }, entropy_control: { name: 'entrocraft', params: { total_steps: 10 } } }],
];

