// Objective + selector time (forward + backward) as a fraction of the engine's learner step for model S,
// both measured in this run on the same backend. Target: <= 0.10 per objective (issue 5).
// Run: npm run bench:objectives            (wasm, as the learner; RLMESH_BACKEND=cpu|tensorflow|webgpu overrides)
//      npm run bench:objectives -- --no-append   (print only; default appends to bench/RESULTS.md)
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/engine/index.ts';
import { compileObjectives, computeLoss } from '../src/objectives/index.ts';
import type { ObjectiveBatch, ObjectivesOptions } from '../src/objectives/index.ts';
import { seededRandom } from '../src/objectives/tensor-ops.ts';
import { MODEL_SIZES, learnerStepBench } from './model-sizes.ts';

const SIZE = MODEL_SIZES.S;
// The tensors the S learner step trains on: its batch rows, sequence length and vocab.
const B = SIZE.batch;
const T = SIZE.seq;
const V = SIZE.vocab;
const REPEATS = 5; // timed objective runs after one warm-up
const LEARNER_STEPS = 2; // timed learner steps after one warm-up
const TARGET = 0.1;
const append = !process.argv.includes('--no-append');
const here = path.dirname(fileURLToPath(import.meta.url));

const cases: Array<[string, ObjectivesOptions]> = [
  ['opd-reverse-kl', { objective: { name: 'opd-reverse-kl' } }],
  ['gkd-jsd', { objective: { name: 'gkd-jsd' } }],
  ['kl-mix', { objective: { name: 'kl-mix' } }],
  ['forward-kl', { objective: { name: 'forward-kl' } }],
  ['reverse-kl', { objective: { name: 'reverse-kl' } }],
  ['pw-opsd', { objective: { name: 'pw-opsd' } }],
  ['grpo', { objective: { name: 'grpo' } }],
  ['dapo', { objective: { name: 'dapo' } }],
  ['bnpo', { objective: { name: 'bnpo' } }],
  ['dr-grpo', { objective: { name: 'dr-grpo' } }],
  ['drpo', { objective: { name: 'drpo' } }],
  ['dapo + top-entropy', { objective: { name: 'dapo' }, token_selector: { name: 'top-entropy' } }],
  ['gkd-jsd + tip', { objective: { name: 'gkd-jsd' }, token_selector: { name: 'tip' } }],
  ['dapo + clip-cov', { objective: { name: 'dapo' }, entropy_control: { name: 'clip-cov' } }],
  ['dapo + kl-cov', { objective: { name: 'dapo' }, entropy_control: { name: 'kl-cov' } }],
  ['grpo + siren', { objective: { name: 'grpo' }, entropy_control: { name: 'siren' } }],
  ['grpo + entrocraft', { objective: { name: 'grpo' }, entropy_control: { name: 'entrocraft' } }],
  ['grpo + ceeh (me)', { objective: { name: 'grpo' }, entropy_control: { name: 'ceeh' } }],
  ['grpo + ceeh (ea)', { objective: { name: 'grpo' }, entropy_control: { name: 'ceeh', params: { mode: 'ea' } } }],
];

function randomTensor(shape: number[], seed: number, scale: number): tf.Tensor {
  const r = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale), shape);
}

/** Mean ms of `REPEATS` calls of fn after one warm-up call. */
function meanMs(fn: () => void, repeats: number): number {
  fn();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) fn();
  return (performance.now() - t0) / repeats;
}

/** The engine learner step for model S (forward + backward + AdamW on its batch), mean ms. */
function learnerStepMs(): number {
  const learner = learnerStepBench(SIZE);
  try {
    return meanMs(() => learner.step(), LEARNER_STEPS);
  } finally {
    learner.dispose();
  }
}

/** Forward + backward of each composed objective through logits [B, T, V] (the learner's model output). */
function objectiveTimes(): { shared: number; perCase: Array<{ name: string; ms: number }> } {
  const logits = tf.variable(randomTensor([B, T, V], 1, 3) as tf.Tensor3D);
  const y = tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % V), [B, T], 'int32');
  const teacherFull = tf.logSoftmax(randomTensor([B, T, V], 2, 3)) as tf.Tensor3D;
  const teacherLp = tf.sum(tf.mul(tf.oneHot(y, V), teacherFull), -1) as tf.Tensor2D;
  const lpOld = tf.tidy(() => tf.sum(tf.mul(tf.oneHot(y, V), tf.logSoftmax(logits)), -1)) as tf.Tensor2D;
  const lengths = Array.from({ length: B }, (_, b) => 32 + ((b * 37) % 96));
  const mask = tf.tensor2d(Float32Array.from({ length: B * T }, (_, i) => (i % T < lengths[Math.floor(i / T)]! ? 1 : 0)), [B, T]);
  const rewards = Array.from({ length: B }, (_, b) => ((b * 13) % 3 === 0 ? 1 : 0));
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
  const timeLoss = (loss: () => tf.Scalar) =>
    meanMs(() => {
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss);
        Object.values(grads).forEach((g) => g.dataSync());
        value.dataSync();
      });
    }, REPEATS);
  // The base every objective shares (log-softmax + gather, forward and backward) is included in each figure.
  const shared = timeLoss(() => tf.neg(tf.sum(batchOf().studentLogprobs)) as tf.Scalar);
  const perCase = cases.map(([name, opts]) => {
    const compiled = compileObjectives(opts);
    return { name, ms: timeLoss(() => computeLoss(compiled, batchOf()).loss) };
  });
  tf.dispose([logits, y, teacherFull, teacherLp, lpOld, mask]);
  return { shared, perCase };
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const backend = await initBackend('wasm');
const { shared, perCase } = objectiveTimes();
const stepMs = learnerStepMs();
const rows = perCase.map(({ name, ms }) => {
  const ratio = ms / stepMs;
  return `| ${name} | ${ms.toFixed(1)} | ${ratio.toFixed(4)} | ${ratio <= TARGET ? 'PASS' : 'FAIL'} |`;
});
const worst = perCase.reduce((a, c) => (c.ms > a.ms ? c : a));
const failed = perCase.filter((c) => c.ms / stepMs > TARGET).length;
const text = [
  `## ${new Date().toISOString()} commit ${gitCommit()}`,
  '',
  `backend ${backend}; CPU ${os.cpus()[0]?.model.trim() ?? 'unknown'} x${os.cpus().length}, load average ${os.loadavg()[0]!.toFixed(1)}; ` +
    `engine learner step for model S (batch ${SIZE.batch} x seq ${SIZE.seq}, vocab ${SIZE.vocab}, micro-batch ${SIZE.micro} rows; ` +
    `forward + backward + AdamW) ${(stepMs / 1000).toFixed(2)} s, mean of ${LEARNER_STEPS} after a warm-up; objective = composed loss ` +
    `forward + backward from logits [${B}, ${T}, ${V}] (log-softmax + gather included: ${shared.toFixed(1)} ms alone), mean of ${REPEATS}.`,
  '',
  `| objective (+ selector / control) | ms | fraction of learner step | <= ${TARGET} |`,
  '|---|---|---|---|',
  ...rows,
  '',
  `${perCase.length - failed}/${perCase.length} within ${TARGET}; largest: ${worst.name} ${(worst.ms / stepMs).toFixed(4)}.`,
  '',
].join('\n');
console.log(text);
if (append) {
  const results = path.join(here, 'RESULTS.md');
  const heading = '# bench:objectives';
  const current = existsSync(results) ? readFileSync(results, 'utf8') : '';
  if (!current) writeFileSync(results, '');
  const hasHeading = current.split('\n').some((l) => l.startsWith(heading));
  appendFileSync(results, `${hasHeading ? '' : `\n${heading} results (appended by \`npm run bench:objectives\`)\n\n`}${text}\n`);
}
