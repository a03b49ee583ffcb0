// Generation: KV-cache decoding equals a full forward pass at every step; seeded sampling; top-k/top-p; stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { LlamaModel, generate, samplingLogprobs, logSoftmaxRow, Prng } from '../../../src/engine/index.ts';
import { RlmeshError } from '../../../src/errors.ts';
import { maxAbsDiff, tinyConfig, useCpu } from './reference.ts';

await useCpu();
const config = tinyConfig({ vocab_size: 13 });
// eos never sampled here unless we want it: make eos id 12 and test stops separately.
const model = LlamaModel.init({ ...config, eos_token_id: 12 }, 11);

test('KV-cache decoding gives the logits of a full forward pass at every step (ragged prompts)', () => {
  const prompts = [[1, 3, 4, 5, 6], [1, 7], [1, 8, 9]];
  const steps: Float32Array[] = [];
  const out = generate(model, prompts, { maxNewTokens: 8, seed: 3, temperature: 1, stopTokens: [9], onLogits: (_s, l) => steps.push(Float32Array.from(l)) });
  assert.equal(steps.length, 8);
  const V = model.config.vocab_size, P = 5;
  let worst = 0;
  for (let s = 0; s < steps.length; s++) {
    // Full forward over left-padded prompt + the tokens generated before step s.
    // A row that stopped early is fed pads (masked) after its stop token, exactly as the sampler does.
    const gen = (b: number) => out[b]!.tokens.slice(0, s);
    const rows = prompts.map((p, b) => [...new Array<number>(P - p.length).fill(0), ...p, ...gen(b), ...new Array<number>(s - gen(b).length).fill(0)]);
    const mask = prompts.map((p, b) => [...new Array<number>(P - p.length).fill(0), ...p.map(() => 1), ...gen(b).map(() => 1), ...new Array<number>(s - gen(b).length).fill(0)]);
    const full = model.logits(rows, mask);
    const last = tf.tidy(() => tf.slice(full, [0, P + s - 1, 0], [prompts.length, 1, V]).dataSync());
    full.dispose();
    worst = Math.max(worst, maxAbsDiff(last, steps[s]!));
  }
  assert.ok(worst <= 1e-5, `max abs diff ${worst}`);
  assert.ok(out.some((o) => o.finishReason === 'stop'), 'a row stopped early (exercises masked pads after a stop)');
  // and the left-padded batch agrees with each prompt decoded alone (greedy, so tokens must match)
  const batch = generate(model, prompts, { maxNewTokens: 6, seed: 1, temperature: 0 });
  prompts.forEach((p, b) => assert.deepEqual(generate(model, [p], { maxNewTokens: 6, seed: 1, temperature: 0 })[0]!.tokens, batch[b]!.tokens));
});

test('same seed gives the same samples; another seed differs', () => {
  const opts = { maxNewTokens: 12, temperature: 1.5 };
  const a = generate(model, [[1, 2, 3], [1]], { ...opts, seed: 42 });
  const b = generate(model, [[1, 2, 3], [1]], { ...opts, seed: 42 });
  const c = generate(model, [[1, 2, 3], [1]], { ...opts, seed: 43 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((s) => s.tokens), c.map((s) => s.tokens));
});

test('returns sampling and model log-probs and entropies consistent with the distribution', () => {
  const [g] = generate(model, [[1, 5]], { maxNewTokens: 10, seed: 5, temperature: 0.7, topK: 4 });
  assert.equal(g!.tokens.length, 10);
  assert.equal(g!.finishReason, 'length');
  const lp = model.tokenLogprobs([[1, 5, ...g!.tokens.slice(0, -1)]], undefined, [[5, ...g!.tokens]]).arraySync()[0]!.slice(1);
  assert.ok(maxAbsDiff(lp, g!.modelLogprobs) < 1e-5);
  for (let i = 0; i < 10; i++) {
    assert.ok(g!.samplingLogprobs[i]! <= 0 && g!.samplingLogprobs[i]! > g!.modelLogprobs[i]!, 'top-k + temperature<1 sharpen');
    assert.ok(g!.entropies[i]! > 0 && g!.entropies[i]! <= Math.log(13) + 1e-9);
  }
});

test('top-k and top-p restrict the support; greedy takes the arg-max', () => {
  const rng = new Prng(1);
  const raw = logSoftmaxRow(Float32Array.from({ length: 10 }, () => rng.normal() * 2));
  const order = Array.from(raw.keys()).sort((a, b) => raw[b]! - raw[a]!);
  const k3 = samplingLogprobs(raw, { temperature: 1, topK: 3, topP: 1 });
  assert.deepEqual(Array.from(k3.keys()).filter((i) => k3[i]! > -Infinity).sort(), order.slice(0, 3).sort());
  assert.ok(Math.abs(k3.reduce((s, l) => s + (l > -Infinity ? Math.exp(l) : 0), 0) - 1) < 1e-12);
  const p = samplingLogprobs(raw, { temperature: 1, topK: 0, topP: 0.6 });
  const kept = order.filter((i) => p[i]! > -Infinity);
  const probs = order.map((i) => Math.exp(raw[i]!));
  let need = 0, cum = 0;
  while (cum < 0.6) cum += probs[need++]!;
  assert.deepEqual(kept, order.slice(0, need));
  const greedy = samplingLogprobs(raw, { temperature: 0, topK: 0, topP: 1 });
  assert.equal(greedy[order[0]!], 0);
  // end to end: with top_k = 2 every sampled token is one of the two most likely at that step
  const steps: Float32Array[] = [];
  const [g] = generate(model, [[1, 4]], { maxNewTokens: 15, seed: 9, topK: 2, temperature: 2, onLogits: (_s, l) => steps.push(Float32Array.from(l)) });
  g!.tokens.forEach((t, s) => {
    const top2 = Array.from(steps[s]!.keys()).sort((a, b) => steps[s]![b]! - steps[s]![a]!).slice(0, 2);
    assert.ok(top2.includes(t), `step ${s}: ${t} not in ${top2}`);
  });
});

test('stop tokens end a sequence; eos always stops', () => {
  const free = generate(model, [[1, 3], [1, 6]], { maxNewTokens: 10, seed: 2, temperature: 0 });
  const stopAt = free[0]!.tokens[2]!;
  const stopped = generate(model, [[1, 3], [1, 6]], { maxNewTokens: 10, seed: 2, temperature: 0, stopTokens: [stopAt] });
  const first = free[0]!.tokens.indexOf(stopAt);
  assert.deepEqual(stopped[0]!.tokens, free[0]!.tokens.slice(0, first + 1));
  assert.equal(stopped[0]!.finishReason, 'stop');
  const eosModel = LlamaModel.init({ ...config, eos_token_id: free[1]!.tokens[0]! }, 11);
  const e = generate(eosModel, [[1, 6]], { maxNewTokens: 10, seed: 2, temperature: 0 });
  assert.deepEqual(e[0]!.tokens, [free[1]!.tokens[0]]);
  assert.equal(e[0]!.finishReason, 'stop');
  eosModel.dispose();
});

test('bad generation inputs are rejected naming the field', () => {
  const cases: Array<[() => unknown, string]> = [
    [() => generate(model, [[1, 99]], { maxNewTokens: 2, seed: 1 }), 'prompts[0][1]'],
    [() => generate(model, [[]], { maxNewTokens: 2, seed: 1 }), 'prompts[0]'],
    [() => generate(model, [[1]], { maxNewTokens: 24, seed: 1 }), 'max_new_tokens'],
    [() => generate(model, [[1]], { maxNewTokens: 2, seed: 1, topP: 0 }), 'top_p'],
    [() => generate(model, [[1]], { maxNewTokens: 2, seed: 1, temperature: -1 }), 'temperature'],
  ];
  for (const [fn, field] of cases) assert.throws(fn, (e: unknown) => e instanceof RlmeshError && e.field === field, field);
});

test('generation does not leak tensors', () => {
  generate(model, [[1, 2]], { maxNewTokens: 3, seed: 1 });
  const before = tf.memory().numTensors;
  generate(model, [[1, 2], [3]], { maxNewTokens: 5, seed: 1 });
  assert.equal(tf.memory().numTensors, before);
});
