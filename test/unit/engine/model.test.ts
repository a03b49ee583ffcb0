// Model forward: matches an independent reference (RoPE, GQA, tied), padding, weight round trip, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { LlamaModel, validateLlamaConfig } from '../../../src/engine/index.ts';
import type { NamedTensors } from '../../../src/engine/index.ts';
import { RlmeshError } from '../../../src/errors.ts';
import { maxAbsDiff, referenceLogits, tinyConfig, useCpu } from './reference.ts';

await useCpu();

/** Init weights perturbed so norms are not all ones (exercises the norm weights). */
function randomized(seed: number, over = {}): { model: LlamaModel; weights: NamedTensors } {
  const c = tinyConfig(over);
  const w = LlamaModel.init(c, seed).toWeights();
  let s = seed;
  for (const [name, t] of w) {
    if (t.shape.length === 1) for (let i = 0; i < t.data.length; i++) t.data[i] = 1 + 0.3 * Math.sin(++s);
    else if (name.includes('proj') || name.includes('embed') || name.includes('lm_head')) for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! * 10;
  }
  return { model: LlamaModel.fromWeights(c, w), weights: w };
}

for (const [label, over] of [['GQA untied', {}], ['MHA tied', { num_key_value_heads: 4, tie_word_embeddings: true }], ['MQA', { num_key_value_heads: 1, rope_theta: 500 }]] as const) {
  test(`logits match the reference implementation (${label})`, () => {
    const { model, weights } = randomized(3, over);
    const ids = [1, 5, 7, 3, 9, 10, 4, 6, 2];
    const got = model.logits([ids]);
    const ref = referenceLogits(model.config, weights, ids).flat();
    const d = maxAbsDiff(got.dataSync(), ref);
    assert.ok(d < 1e-4, `max abs diff ${d}`);
    assert.ok(Math.max(...ref.map(Math.abs)) > 0.1, 'reference logits are not trivially small');
    got.dispose();
    model.dispose();
  });
}

test('right and left padding give the same logits on real tokens as the unpadded sequence', () => {
  const { model } = randomized(5);
  const a = [1, 4, 5, 6, 7], b = [1, 8, 9];
  const ref = (ids: number[]) => model.logits([ids]).arraySync()[0]!;
  const ra = ref(a), rb = ref(b);
  const right = model.logits([a, [...b, 0, 0]], [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]).arraySync();
  const left = model.logits([a, [0, 0, ...b]], [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]).arraySync();
  assert.ok(maxAbsDiff(right[0]!.flat(), ra.flat()) < 1e-5);
  assert.ok(maxAbsDiff(right[1]!.slice(0, 3).flat(), rb.flat()) < 1e-5);
  assert.ok(maxAbsDiff(left[1]!.slice(2).flat(), rb.flat()) < 1e-5);
  model.dispose();
});

test('tokenLogprobs equals log-softmax picked at the targets and logprobs are normalised', () => {
  const { model } = randomized(7);
  const ids = [[1, 3, 4, 5], [1, 6, 7, 8]], tg = [[3, 4, 5, 2], [6, 7, 8, 2]];
  const lp = model.tokenLogprobs(ids, undefined, tg).arraySync();
  const lsm = model.logSoftmax(ids).arraySync();
  for (let b = 0; b < 2; b++) for (let t = 0; t < 4; t++) {
    assert.ok(Math.abs(lp[b]![t]! - lsm[b]![t]![tg[b]![t]!]!) < 1e-6);
    const z = lsm[b]![t]!.reduce((s, l) => s + Math.exp(l), 0);
    assert.ok(Math.abs(z - 1) < 1e-5);
  }
  model.dispose();
});

test('fromWeights(toWeights()) is the identity and names follow HF', () => {
  const { model } = randomized(9);
  const w1 = model.toWeights();
  assert.ok(w1.has('model.layers.1.self_attn.k_proj.weight'));
  assert.deepEqual(w1.get('model.layers.0.self_attn.k_proj.weight')!.shape, [8, 16]); // [kvHeads*D, H]
  assert.deepEqual(w1.get('model.layers.0.mlp.down_proj.weight')!.shape, [16, 24]);
  assert.deepEqual(w1.get('lm_head.weight')!.shape, [11, 16]);
  const m2 = LlamaModel.fromWeights(model.config, w1);
  const w2 = m2.toWeights();
  assert.deepEqual([...w2.keys()].sort(), [...w1.keys()].sort());
  for (const [k, t] of w1) assert.deepEqual(w2.get(k)!.data, t.data, k);
  assert.equal(m2.numParameters(), [...w1.values()].reduce((s, t) => s + t.data.length, 0));
  const tied = LlamaModel.init(tinyConfig({ tie_word_embeddings: true }), 1);
  assert.equal(tied.toWeights().has('lm_head.weight'), false);
  assert.equal(tied.numParameters(), model.numParameters() - 11 * 16);
  for (const m of [model, m2, tied]) m.dispose();
});

test('init is deterministic per seed', () => {
  const a = LlamaModel.init(tinyConfig(), 4), b = LlamaModel.init(tinyConfig(), 4), c = LlamaModel.init(tinyConfig(), 5);
  const name = 'model.layers.0.self_attn.q_proj.weight';
  assert.deepEqual(a.toWeights().get(name)!.data, b.toWeights().get(name)!.data);
  assert.notDeepEqual(a.toWeights().get(name)!.data, c.toWeights().get(name)!.data);
  for (const m of [a, b, c]) m.dispose();
});

function expectError(fn: () => unknown, field: RegExp | string, msg?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RlmeshError, `not an RlmeshError: ${String(e)}`);
    if (typeof field === 'string') assert.equal(e.field, field);
    else assert.match(e.field ?? '', field);
    if (msg) assert.match(e.message, msg);
    return true;
  });
}

test('NaN/Inf weights, wrong shapes, missing and unexpected tensors are refused naming the tensor', () => {
  const c = tinyConfig();
  const base = () => LlamaModel.init(c, 1).toWeights();
  const nan = base();
  nan.get('model.layers.1.mlp.up_proj.weight')!.data[5] = NaN;
  expectError(() => LlamaModel.fromWeights(c, nan), 'model.layers.1.mlp.up_proj.weight', /not finite/);
  const inf = base();
  inf.get('model.norm.weight')!.data[0] = Infinity;
  expectError(() => LlamaModel.fromWeights(c, inf), 'model.norm.weight');
  const shape = base();
  shape.set('model.layers.0.self_attn.v_proj.weight', { shape: [16, 16], data: new Float32Array(256) });
  expectError(() => LlamaModel.fromWeights(c, shape), 'model.layers.0.self_attn.v_proj.weight', /shape/);
  const missing = base();
  missing.delete('lm_head.weight');
  expectError(() => LlamaModel.fromWeights(c, missing), 'lm_head.weight', /missing/);
  const extra = base();
  extra.set('model.layers.7.mlp.up_proj.weight', { shape: [1], data: new Float32Array(1) });
  expectError(() => LlamaModel.fromWeights(c, extra), 'model.layers.7.mlp.up_proj.weight', /unexpected/);
});

test('bad inputs are rejected with the field named', () => {
  const model = LlamaModel.init(tinyConfig(), 1);
  expectError(() => model.logits([[1, 2, 11]]), 'input_ids[0][2]', /outside/);
  expectError(() => model.logits([[1, -1]]), 'input_ids[0][1]');
  expectError(() => model.logits([new Array(25).fill(1)]), 'input_ids', /max_position_embeddings/);
  expectError(() => model.logits([[1, 2], [1]]), 'input_ids[1]');
  expectError(() => model.logits([[1, 2]], [[1, 2]]), 'attention_mask[0][1]');
  expectError(() => model.tokenLogprobs([[1, 2]], undefined, [[1]]), 'targets');
  expectError(() => validateLlamaConfig({ ...tinyConfig(), num_key_value_heads: 3 }), 'num_key_value_heads');
  expectError(() => validateLlamaConfig({ ...tinyConfig(), hidden_size: 0 }), 'hidden_size');
  expectError(() => validateLlamaConfig({ ...tinyConfig(), eos_token_id: 11 }), 'eos_token_id');
  expectError(() => validateLlamaConfig('x'), 'config');
  assert.equal(tf.memory().numTensors > 0, true);
  model.dispose();
});

test('loadWeights replaces every parameter without leaving tensors behind (a rollout worker loads every version)', () => {
  const a = LlamaModel.init(tinyConfig(), 1), b = LlamaModel.init(tinyConfig(), 2);
  const weights = b.toWeights();
  a.loadWeights(weights); // first load may allocate nothing new either; measure from here
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) a.loadWeights(weights);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual([...a.internalData().values()].map((x) => Array.from(x)), [...b.internalData().values()].map((x) => Array.from(x)));
  a.dispose();
  b.dispose();
});
