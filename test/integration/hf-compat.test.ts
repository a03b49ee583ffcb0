// HF compatibility: a checkpoint written from TypeScript gives the same logits (max |diff| <= 1e-4, fp32) in
// PyTorch following LlamaForCausalLM semantics (scripts/hf_logits.py; installs Debian's python3-torch when no
// interpreter with torch is found) and, where an interpreter has `transformers` (RLMESH_HF_PYTHON, else python3),
// in transformers itself (scripts/hf_transformers_logits.py: AutoModelForCausalLM + AutoTokenizer on the folder).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { validateLlamaConfig, type LlamaConfig } from '../../src/engine/config.ts';
import { LlamaModel } from '../../src/engine/model.ts';
import { Prng } from '../../src/engine/prng.ts';
import { CharTokenizer } from '../../src/engine/tokenizer.ts';
import { paramSpecs, type NamedTensors } from '../../src/engine/weights.ts';

/** The first interpreter (duplicates skipped) that imports `modules`, or undefined. */
function pythonWith(modules: string, candidates: ReadonlyArray<string | undefined>): string | undefined {
  const unique = [...new Set(candidates.filter((p): p is string => !!p))];
  return unique.find((py) => spawnSync(py, ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0);
}

const pythonWithTorch = () => pythonWith('torch', ['/usr/bin/python3', 'python3']);

/** Max |diff| of our logits against a reference's, and the reference's RMS (asserted large enough to mean something). */
function compareLogits(ts: Float32Array, ref: readonly number[]): { maxDiff: number; rms: number } {
  assert.equal(ref.length, ts.length);
  let maxDiff = 0, sumSq = 0;
  for (let i = 0; i < ts.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(ts[i]! - ref[i]!));
    sumSq += ref[i]! ** 2;
  }
  const rms = Math.sqrt(sumSq / ts.length);
  assert.ok(rms > 0.5, `logits too small (RMS ${rms}) for the comparison to mean anything`);
  return { maxDiff, rms };
}

function ensurePython(): string {
  let py = pythonWithTorch();
  if (!py) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'python3-torch'], { stdio: 'inherit', env });
    py = pythonWithTorch();
  }
  assert.ok(py, 'no python3 with torch (apt-get install -y python3-torch)');
  return py;
}

/** Random weights large enough that logits are O(1), with non-trivial norm weights. */
function randomWeights(c: LlamaConfig, seed: number): NamedTensors {
  const rng = new Prng(seed);
  const out: NamedTensors = new Map();
  for (const spec of paramSpecs(c)) {
    for (const p of spec.pieces) {
      const n = p.hfShape.reduce((a, b) => a * b, 1);
      const fanIn = p.hfShape.length === 2 ? p.hfShape[1]! : 1;
      const std = p.hfShape.length === 1 ? 0.2 : p.hfName === 'model.embed_tokens.weight' ? 1 : 1.5 / Math.sqrt(fanIn);
      const data = Float32Array.from({ length: n }, () => (p.hfShape.length === 1 ? 1 : 0) + std * rng.normal());
      out.set(p.hfName, { shape: [...p.hfShape], data });
    }
  }
  return out;
}

const tokenizer = CharTokenizer.builtin();
let py = '';
// a first run on a fresh machine downloads python3-torch (minutes); later runs take seconds
before(() => { py = ensurePython(); }, { timeout: 1_200_000 });

const cases: Array<{ name: string; raw: Record<string, unknown> }> = [
  { name: 'GQA 4q/2kv, untied', raw: { hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, rope_theta: 10000 } },
  { name: 'MQA 4q/1kv, tied, theta 500', raw: { hidden_size: 24, intermediate_size: 40, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 1, rope_theta: 500, tie_word_embeddings: true, rms_norm_eps: 1e-5 } },
];

for (const { name, raw } of cases) {
  test(`TS logits match the HF LlamaForCausalLM reference (${name})`, { timeout: 300_000 }, async () => {
    const config = validateLlamaConfig({ vocab_size: tokenizer.vocabSize, max_position_embeddings: 64, ...raw });
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'rlmesh-hf-')), 'ckpt');
    await saveCheckpoint(dir, { config, weights: randomWeights(config, 7), tokenizer });
    const model = LlamaModel.fromWeights(config, (await loadCheckpoint(dir)).weights);
    const T = 24;
    const ids = [
      tokenizer.encode('<think>12+30=42, so the sum</think><answer>42</answer>', { bos: true, eos: true }),
      tokenizer.encode('Q: what is 7*6?\nA: <answer>42</answer> ok ~!', { bos: true }),
    ].map((r) => r.slice(0, T));
    assert.ok(ids.every((r) => r.length === T));
    const tsLogits = model.logits(ids);
    const ts = tsLogits.dataSync() as Float32Array;
    tsLogits.dispose();
    model.dispose();

    const out = execFileSync(py, ['scripts/hf_logits.py', dir, JSON.stringify(ids)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const ref = JSON.parse(out) as { shape: number[]; logits: number[] };
    assert.deepEqual(ref.shape, [2, T, config.vocab_size]);
    const { maxDiff, rms } = compareLogits(ts, ref.logits);
    console.log(`hf-compat ${name}: max |logit diff| = ${maxDiff.toExponential(3)} over ${ts.length} logits (reference RMS ${rms.toFixed(3)})`);
    assert.ok(maxDiff <= 1e-4, `max |diff| ${maxDiff} > 1e-4`);
  });
}

/** An interpreter with torch + transformers: RLMESH_HF_PYTHON, else python3 on PATH; undefined when none has them. */
const hfPython = pythonWith('torch, transformers', [process.env.RLMESH_HF_PYTHON, 'python3', '/usr/bin/python3']);
const texts = ['<think>12+30=42, so the sum</think><answer>42</answer>', 'Q: what is 7*6?\nA: <answer>-42</answer> [3, 1, 2] ~!'];

for (const { name, raw } of cases) {
  test(`HF transformers loads the folder: LlamaForCausalLM logits <= 1e-4 and tokenizer ids equal (${name})`, {
    timeout: 300_000,
    skip: hfPython ? false : 'no python with transformers (set RLMESH_HF_PYTHON; README "HF compatibility")',
  }, async () => {
    const config = validateLlamaConfig({ vocab_size: tokenizer.vocabSize, max_position_embeddings: 64, ...raw });
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'rlmesh-hft-')), 'ckpt');
    await saveCheckpoint(dir, { config, weights: randomWeights(config, 11), tokenizer });
    const ids = texts.map((t) => tokenizer.encode(t, { bos: true }).slice(0, 20));
    const model = LlamaModel.fromWeights(config, (await loadCheckpoint(dir)).weights);
    const tsLogits = model.logits(ids);
    const ts = tsLogits.dataSync() as Float32Array;
    tsLogits.dispose();
    model.dispose();
    const out = execFileSync(hfPython!, ['scripts/hf_transformers_logits.py', dir, JSON.stringify(ids), JSON.stringify(texts)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const ref = JSON.parse(out) as { model: string; shape: number[]; logits: number[]; tokens: number[][]; decoded: string[] };
    assert.equal(ref.model, 'LlamaForCausalLM');
    assert.deepEqual(ref.shape, [2, 20, config.vocab_size]);
    const { maxDiff, rms } = compareLogits(ts, ref.logits);
    console.log(`hf-compat transformers ${name}: max |logit diff| = ${maxDiff.toExponential(3)} over ${ts.length} logits (reference RMS ${rms.toFixed(3)})`);
    assert.ok(maxDiff <= 1e-4, `max |diff| ${maxDiff} > 1e-4`);
    assert.deepEqual(ref.tokens, texts.map((t) => tokenizer.encode(t)), 'AutoTokenizer ids = ours');
    assert.deepEqual(ref.decoded, texts);
  });
}
