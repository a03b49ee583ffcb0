// Scoring: per-token log-probs of given completions equal the full forward pass, in any chunk size; top-k; full.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LlamaModel, score } from '../../../src/engine/index.ts';
import { RlmeshError } from '../../../src/errors.ts';
import { maxAbsDiff, tinyConfig, useCpu } from './reference.ts';

await useCpu();
const model = LlamaModel.init(tinyConfig(), 21);
const items = [{ prompt: [1, 3, 4], completion: [5, 6, 7, 2] }, { prompt: [1], completion: [8, 9] }, { prompt: [1, 5, 5, 5, 5, 6], completion: [3] }];

test('chunked scoring equals the full forward pass at every chunk size', () => {
  const ref = items.map((it) => {
    const seq = [...it.prompt, ...it.completion];
    const lsm = model.logSoftmax([seq]).arraySync()[0]!;
    return it.completion.map((tok, i) => lsm[it.prompt.length - 1 + i]![tok]!);
  });
  for (const chunkSize of [1, 2, 3, 128]) {
    const out = score(model, items, { chunkSize });
    out.forEach((o, b) => {
      assert.equal(o.logprobs.length, items[b]!.completion.length);
      assert.ok(maxAbsDiff(o.logprobs, ref[b]!) < 1e-5, `chunk ${chunkSize} row ${b}`);
    });
  }
});

test('top-k, full distribution and entropies are consistent', () => {
  const [o] = score(model, [items[0]!], { topK: 3, full: true, chunkSize: 2 });
  const V = model.config.vocab_size;
  for (let i = 0; i < 4; i++) {
    const row = Array.from(o!.full!.subarray(i * V, (i + 1) * V));
    assert.ok(Math.abs(row.reduce((s, l) => s + Math.exp(l), 0) - 1) < 1e-5);
    assert.ok(Math.abs(row[items[0]!.completion[i]!]! - o!.logprobs[i]!) < 1e-6);
    const ent = -row.reduce((s, l) => s + Math.exp(l) * l, 0);
    assert.ok(Math.abs(ent - o!.entropies[i]!) < 1e-5);
    const sorted = [...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, 3);
    assert.deepEqual(o!.topK!.ids[i], sorted);
    assert.ok(maxAbsDiff(o!.topK!.logprobs[i]!, sorted.map((k) => row[k]!)) < 1e-6);
  }
});

test('scoring rejects bad ids, empty prompts and over-long inputs naming the field', () => {
  const cases: Array<[() => unknown, string]> = [
    [() => score(model, [{ prompt: [1], completion: [11] }]), 'completion[0][0]'],
    [() => score(model, [{ prompt: [], completion: [3] }]), 'prompt[0]'],
    [() => score(model, [{ prompt: new Array(20).fill(1), completion: new Array(5).fill(3) }]), 'items[0]'],
    [() => score(model, [{ prompt: [1], completion: [3] }], { topK: 12 }), 'top_k'],
    [() => score(model, []), 'items'],
  ];
  for (const [fn, field] of cases) assert.throws(fn, (e: unknown) => e instanceof RlmeshError && e.field === field, field);
});
