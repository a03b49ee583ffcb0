// Training path: finite-difference gradients, custom gradients vs tfjs autodiff, AdamW maths, resume, learning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { AdamW, LlamaModel } from '../../../src/engine/index.ts';
import { bmm, embed, linear } from '../../../src/engine/layers.ts';
import { RlmeshError } from '../../../src/errors.ts';
import { maxAbsDiff, tinyConfig, useCpu } from './reference.ts';

await useCpu();
const ids = [[1, 4, 5, 6, 7, 0], [1, 8, 9, 3, 0, 0]];
const mask = [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]];
const tgt = [[4, 5, 6, 7, 2, 0], [8, 9, 3, 2, 0, 0]];
const lossMask = tf.tensor2d([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]]);

function loss(model: LlamaModel): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.div(tf.sum(tf.mul(model.tokenLogprobs(ids, mask, tgt), lossMask)), tf.sum(lossMask))) as tf.Scalar);
}

test('finite-difference check of the log-prob path gradient (every parameter tensor)', () => {
  const model = LlamaModel.init(tinyConfig({ tie_word_embeddings: true }), 2);
  // bigger weights give gradients well above float32 noise
  for (const v of model.variables()) if (v.rank === 2) v.assign(tf.mul(v, 8));
  const { grads } = tf.variableGrads(() => loss(model), model.variables());
  const eps = 1e-2;
  let checked = 0;
  for (const [name, v] of model.params) {
    const g = grads[v.name]!.dataSync();
    const base = v.dataSync().slice();
    // the three largest-gradient entries of this tensor
    const idx = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 3);
    for (const i of idx) {
      const at = (delta: number) => {
        const d = base.slice(); d[i] = d[i]! + delta;
        v.assign(tf.tensor(d, v.shape));
        const l = loss(model); const x = l.dataSync()[0]!; l.dispose();
        return x;
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      const rel = Math.abs(fd - g[i]!) / Math.max(Math.abs(fd), Math.abs(g[i]!), 1e-3);
      assert.ok(rel < 0.03, `${name}[${i}]: analytic ${g[i]} vs finite difference ${fd} (rel ${rel})`);
      checked++;
    }
  }
  assert.equal(checked, model.params.size * 3);
  for (const g of Object.values(grads)) g.dispose();
  model.dispose();
});

test('hand-written gradients (linear, bmm, embedding) equal tfjs autodiff of the plain ops', () => {
  const x = tf.randomNormal([6, 5], 0, 1, 'float32', 1) as tf.Tensor2D, w = tf.randomNormal([5, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
  const dy = tf.randomNormal([6, 4], 0, 1, 'float32', 3);
  const fast = tf.grads((a, b) => tf.sum(tf.mul(linear(a as tf.Tensor2D, b as tf.Tensor2D), dy)))([x, w]);
  const slow = tf.grads((a, b) => tf.sum(tf.mul(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), dy)))([x, w]);
  fast.forEach((g, i) => assert.ok(maxAbsDiff(g.dataSync(), slow[i]!.dataSync()) < 1e-5));
  const a = tf.randomNormal([2, 3, 4, 5], 0, 1, 'float32', 4) as tf.Tensor4D, b = tf.randomNormal([2, 3, 5, 6], 0, 1, 'float32', 5) as tf.Tensor4D;
  const dz = tf.randomNormal([2, 3, 4, 6], 0, 1, 'float32', 6);
  const f2 = tf.grads((p, q) => tf.sum(tf.mul(bmm(p as tf.Tensor4D, q as tf.Tensor4D), dz)))([a, b]);
  const s2 = tf.grads((p, q) => tf.sum(tf.mul(tf.matMul(p as tf.Tensor4D, q as tf.Tensor4D), dz)))([a, b]);
  f2.forEach((g, i) => assert.ok(maxAbsDiff(g.dataSync(), s2[i]!.dataSync()) < 1e-5));
  const table = tf.randomNormal([7, 3], 0, 1, 'float32', 7) as tf.Tensor2D, tok = tf.tensor1d([1, 6, 1, 0], 'int32');
  const de = tf.randomNormal([4, 3], 0, 1, 'float32', 8);
  const ge = tf.grad((t) => tf.sum(tf.mul(embed(tok, t as tf.Tensor2D), de)))(table);
  const gr = tf.grad((t) => tf.sum(tf.mul(tf.matMul(tf.oneHot(tok, 7).toFloat(), t as tf.Tensor2D), de)))(table);
  assert.ok(maxAbsDiff(ge.dataSync(), gr.dataSync()) < 1e-6);
  assert.ok(maxAbsDiff(embed(tok, table).dataSync(), tf.gather(table, tok).dataSync()) === 0);
});

test('AdamW matches a hand computation (bias correction, decoupled decay, clipping)', () => {
  const p = tf.variable(tf.tensor2d([[1, -2], [3, 0.5]]), true, 'adamw-p');
  const opt = new AdamW(new Map([['p', p]]), { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.5, maxGradNorm: 1 });
  const g = [[3, 0], [0, 4]]; // norm 5 -> scaled by 1/5
  let ref = [1, -2, 3, 0.5], m = [0, 0, 0, 0], v = [0, 0, 0, 0];
  for (let t = 1; t <= 3; t++) {
    const norm = opt.apply({ p: tf.tensor2d(g) });
    assert.ok(Math.abs(norm - 5) < 1e-5);
    const gs = g.flat().map((x) => x / (5 + 1e-6));
    m = m.map((mi, i) => 0.9 * mi + 0.1 * gs[i]!);
    v = v.map((vi, i) => 0.99 * vi + 0.01 * gs[i]! ** 2);
    ref = ref.map((w, i) => w - 0.1 * (m[i]! / (1 - 0.9 ** t)) / (Math.sqrt(v[i]! / (1 - 0.99 ** t)) + 1e-8) - 0.1 * 0.5 * w);
  }
  assert.ok(maxAbsDiff(p.dataSync(), ref) < 1e-5, `${p.dataSync()} vs ${ref}`);
  assert.equal(opt.step, 3);
  // A non-finite gradient skips the step entirely: weights and the step count (bias correction) stay as they were.
  assert.throws(() => opt.apply({ p: tf.tensor2d([[NaN, 0], [0, 1]]) }), (e: unknown) => e instanceof RlmeshError && /gradient norm is NaN/.test(e.message));
  assert.equal(opt.step, 3, 'a skipped step is not counted');
  assert.ok(maxAbsDiff(p.dataSync(), ref) < 1e-5, 'weights unchanged by the skipped step');
  opt.dispose();
  p.dispose();
});

test('a tiny model learns a fixed sequence (fixed seed, loss drops by a margin) and state export resumes exactly', () => {
  const cfg = tinyConfig();
  const a = LlamaModel.init(cfg, 3);
  const optA = new AdamW(a.params, { lr: 1e-2, maxGradNorm: 1 });
  const first = optA.trainStep(() => loss(a));
  for (let i = 0; i < 24; i++) optA.trainStep(() => loss(a));
  const mid = optA.trainStep(() => loss(a));
  assert.ok(Number.isFinite(first.gradNorm) && first.gradNorm > 0);
  assert.ok(mid.loss < first.loss * 0.5, `loss ${first.loss} -> ${mid.loss}`);
  // resume: a fresh model + optimizer from exported weights and state continues identically
  const b = LlamaModel.fromWeights(cfg, a.toWeights());
  const optB = new AdamW(b.params, { lr: 1e-2, maxGradNorm: 1 });
  optB.importState(optA.exportState());
  assert.equal(optB.step, 26);
  const ra = optA.trainStep(() => loss(a)), rb = optB.trainStep(() => loss(b));
  assert.ok(Math.abs(ra.loss - rb.loss) < 1e-6);
  const name = 'model.layers.1.mlp.gate_proj.weight';
  assert.ok(maxAbsDiff(a.toWeights().get(name)!.data, b.toWeights().get(name)!.data) < 1e-6);
  // bad state is refused naming the tensor
  const bad = optA.exportState();
  bad.tensors.get('layers.0.qkv.exp_avg')!.data[0] = NaN;
  assert.throws(() => optB.importState(bad), (e: unknown) => e instanceof RlmeshError && e.field === 'layers.0.qkv.exp_avg');
  // gradient accumulation over two half-batch parts equals the full-batch step
  const c1 = LlamaModel.fromWeights(cfg, a.toWeights()), c2 = LlamaModel.fromWeights(cfg, a.toWeights());
  const o1 = new AdamW(c1.params, { lr: 1e-2 }), o2 = new AdamW(c2.params, { lr: 1e-2 });
  const sumLoss = (m: LlamaModel, rows: number[]) => () => tf.tidy(() => {
    const lp = m.tokenLogprobs(rows.map((r) => ids[r]!), rows.map((r) => mask[r]!), rows.map((r) => tgt[r]!));
    return tf.div(tf.neg(tf.sum(tf.mul(lp, tf.gather(lossMask, rows)))), tf.sum(lossMask)) as tf.Scalar;
  });
  const full = o1.trainStep(sumLoss(c1, [0, 1])), acc = o2.trainStep([sumLoss(c2, [0]), sumLoss(c2, [1])]);
  assert.ok(Math.abs(full.loss - acc.loss) < 1e-5 && Math.abs(full.gradNorm - acc.gradNorm) < 1e-5);
  assert.ok(maxAbsDiff(c1.toWeights().get(name)!.data, c2.toWeights().get(name)!.data) < 1e-6);
  for (const x of [o1, o2, c1, c2]) x.dispose();
  // training steps do not leak tensors
  const before = tf.memory().numTensors;
  optA.trainStep(() => loss(a));
  assert.equal(tf.memory().numTensors, before);
  for (const x of [optA, optB, a, b]) x.dispose();
});

test('a model and its AdamW free every tensor they made when disposed (no initial-value copies left behind)', () => {
  const before = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) {
    const model = LlamaModel.init(tinyConfig(), i);
    const opt = new AdamW(model.params, { lr: 1e-2 });
    opt.trainStep(() => loss(model));
    opt.dispose();
    model.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});
