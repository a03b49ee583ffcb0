// Objective + selector time (forward + backward) on model-S-sized tensors (B=32, T=128, V=64), per objective.
// Run: npm run bench:objectives   (RLMESH_BACKEND=cpu|wasm|... picks the TF.js backend; default cpu)
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { compileObjectives, computeLoss } from '../src/objectives/index.ts';
import type { ObjectiveBatch, ObjectivesOptions } from '../src/objectives/index.ts';
import { seededRandom } from '../src/objectives/tensor-ops.ts';

const B = 32;
const T = 128;
const V = 64;
const REPEATS = 5;

function randomTensor(shape: number[], seed: number, scale: number): tf.Tensor {
  const r = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale), shape);
}

const cases: Array<[string, ObjectivesOptions]> = [
  ['opd-reverse-kl', { objective: { name: 'opd-reverse-kl' } }],
  ['gkd-jsd', { objective: { name: 'gkd-jsd' } }],
  ['kl-mix', { objective: { name: 'kl-mix' } }],
  ['pw-opsd', { objective: { name: 'pw-opsd' } }],
  ['grpo', { objective: { name: 'grpo' } }],
  ['dapo', { objective: { name: 'dapo' } }],
  ['dr-grpo', { objective: { name: 'dr-grpo' } }],
  ['drpo', { objective: { name: 'drpo' } }],
  ['dapo + top-entropy', { objective: { name: 'dapo' }, token_selector: { name: 'top-entropy' } }],
  ['gkd-jsd + tip', { objective: { name: 'gkd-jsd' }, token_selector: { name: 'tip' } }],
  ['dapo + clip-cov', { objective: { name: 'dapo' }, entropy_control: { name: 'clip-cov' } }],
  ['dapo + kl-cov', { objective: { name: 'dapo' }, entropy_control: { name: 'kl-cov' } }],
  ['grpo + siren', { objective: { name: 'grpo' }, entropy_control: { name: 'siren' } }],
  ['grpo + entrocraft', { objective: { name: 'grpo' }, entropy_control: { name: 'entrocraft' } }],
  ['grpo + ceeh', { objective: { name: 'grpo' }, entropy_control: { name: 'ceeh' } }],
];

async function main(): Promise<void> {
  await tf.setBackend(process.env.RLMESH_BACKEND ?? 'cpu');
  await tf.ready();
  const logits = tf.variable(randomTensor([B, T, V], 1, 3) as tf.Tensor3D);
  const y = tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % V), [B, T], 'int32');
  const teacherFull = tf.logSoftmax(randomTensor([B, T, V], 2, 3)) as tf.Tensor3D;
  const teacherLp = tf.sum(tf.mul(tf.oneHot(y, V), teacherFull), -1) as tf.Tensor2D;
  const lpOld = tf.tidy(() => tf.sum(tf.mul(tf.oneHot(y, V), tf.logSoftmax(logits)), -1)) as tf.Tensor2D;
  const lengths = Array.from({ length: B }, (_, b) => 32 + ((b * 37) % 96));
  const mask = tf.tensor2d(Float32Array.from({ length: B * T }, (_, i) => (i % T < lengths[Math.floor(i / T)]! ? 1 : 0)), [B, T]);
  const rewards = Array.from({ length: B }, (_, b) => (b * 13) % 3 === 0 ? 1 : 0);
  const groupIds = Array.from({ length: B }, (_, b) => Math.floor(b / 8));
  const batchOf = (): ObjectiveBatch => {
    const full = tf.logSoftmax(logits) as tf.Tensor3D; // [B, T, V]
    return {
      studentLogprobs: tf.sum(tf.mul(tf.oneHot(y, V), full), -1) as tf.Tensor2D, // [B, T]
      studentLogprobsFull: full,
      samplingLogprobs: lpOld,
      teacherLogprobs: teacherLp,
      teacherLogprobsFull: teacherFull,
      mask,
      rewards,
      groupIds,
      correct: rewards.map((r) => r > 0),
      hard: rewards.map((_, b) => b % 2 === 0),
      step: 1,
    };
  };
  // The base cost every objective shares (log-softmax + gather forward/backward) is included in each figure.
  const timeOf = (opts: ObjectivesOptions): number => {
    const compiled = compileObjectives(opts);
    const run = () => {
      const { value, grads } = tf.variableGrads(() => computeLoss(compiled, batchOf()).loss);
      Object.values(grads).forEach((g) => g.dataSync());
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    };
    run(); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < REPEATS; i++) run();
    return (performance.now() - t0) / REPEATS;
  };
  const baselineMs = (() => {
    const run = () => {
      const { value, grads } = tf.variableGrads(() => tf.neg(tf.sum(batchOf().studentLogprobs)) as tf.Scalar);
      Object.values(grads).forEach((g) => g.dataSync());
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    };
    run();
    const t0 = performance.now();
    for (let i = 0; i < REPEATS; i++) run();
    return (performance.now() - t0) / REPEATS;
  })();
  const engineStepMs = await engineLearnerStepMs();
  console.log(`objectives bench: B=${B} T=${T} V=${V}, backend ${tf.getBackend()}, mean of ${REPEATS} forward+backward runs`);
  console.log(`${'shared input (log-softmax + gather, no objective)'} ${baselineMs.toFixed(1)} ms, included below`);
  for (const [name, opts] of cases) {
    const ms = timeOf(opts);
    const ratio = engineStepMs === null ? 'engine learner step missing' : `${(ms / engineStepMs).toFixed(3)} of engine step (target <= 0.10)`;
    console.log(`${name.padEnd(22)} ${ms.toFixed(1).padStart(8)} ms   ${ratio}`);
  }
  if (engineStepMs === null) {
    console.log('src/engine exports no learner step yet: the fraction of the engine learner step for model S is not measured.');
  }
}

/** The engine's learner step for model S, when src/engine/index.ts provides one (checked by name, then timed). */
async function engineLearnerStepMs(): Promise<number | null> {
  const path = new URL('../src/engine/index.ts', import.meta.url);
  if (!existsSync(path) || !/learnerStep|benchLearnerStep/.test(readFileSync(path, 'utf8'))) return null;
  const engine = (await import(path.href)) as Record<string, unknown>;
  const bench = engine.benchLearnerStep;
  if (typeof bench !== 'function') return null;
  return (await (bench as (model: string) => Promise<number>)('S')) ?? null;
}

await main();
