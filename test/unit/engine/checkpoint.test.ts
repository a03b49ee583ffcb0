// Checkpoint folders: full round trip (weights, tokenizer, generation, trainer state), atomic overwrite, and the
// refusals at load (truncated safetensors, shape vs config.json, missing tensor, NaN/Inf, bad JSON).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointFile, loadCheckpoint, recoverCheckpoint, saveCheckpoint, type Checkpoint } from '../../../src/engine/checkpoint.ts';
import { validateLlamaConfig, type LlamaConfig } from '../../../src/engine/config.ts';
import { encodeSafetensors } from '../../../src/engine/safetensors.ts';
import { CharTokenizer } from '../../../src/engine/tokenizer.ts';
import { paramSpecs, type NamedTensors } from '../../../src/engine/weights.ts';
import { RlmeshError } from '../../../src/errors.ts';

const tokenizer = CharTokenizer.builtin();
const config: LlamaConfig = validateLlamaConfig({
  vocab_size: tokenizer.vocabSize, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64,
});

/** Deterministic pseudo-random weights for every tensor the config expects (no model code involved). */
function weightsFor(c: LlamaConfig, salt = 0): NamedTensors {
  let s = 12345 + salt;
  const next = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 32 - 0.5; };
  const out: NamedTensors = new Map();
  for (const spec of paramSpecs(c)) {
    for (const p of spec.pieces) {
      const n = p.hfShape.reduce((a, b) => a * b, 1);
      out.set(p.hfName, { shape: [...p.hfShape], data: Float32Array.from({ length: n }, next) });
    }
  }
  return out;
}

function sample(salt = 0): Checkpoint {
  const moments: NamedTensors = new Map([
    ['exp_avg.embed', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ['exp_avg_sq.embed', { shape: [2, 3], data: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]) }],
  ]);
  return {
    config, weights: weightsFor(config, salt), tokenizer,
    generation: { max_new_tokens: 32, temperature: 0.7, top_k: 20, top_p: 0.95, do_sample: true },
    trainer: {
      step: 17 + salt, policy_version: 3, optimizer: { name: 'adamw', lr: 0.001, beta1: 0.9, beta2: 0.999, weight_decay: 0 },
      curriculum: { weights: { add: 0.5, mul: 0.5 }, seen: [1, 2] }, rng: { a: 1, b: 2, c: 3, d: 4 }, moments,
    },
  };
}

const tmp = () => mkdtempSync(path.join(tmpdir(), 'rlmesh-ckpt-'));

function refusal(field: string, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof RlmeshError, String(e));
    assert.equal(e.field, field);
    assert.match(e.message, pattern);
    return true;
  };
}

test('save then load returns the same config, weights, tokenizer, generation and trainer state', async () => {
  const dir = path.join(tmp(), 'ckpt');
  const ckpt = sample();
  await saveCheckpoint(dir, ckpt);
  assert.deepEqual(readdirSync(dir).sort(), Object.values(CheckpointFile).sort());
  const back = await loadCheckpoint(dir);
  assert.deepEqual(back.config, config);
  assert.deepEqual([...back.weights.keys()].sort(), [...ckpt.weights.keys()].sort());
  for (const [name, t] of ckpt.weights) {
    assert.deepEqual(back.weights.get(name)!.shape, t.shape);
    assert.ok(Buffer.from(back.weights.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), `${name} bits differ`);
  }
  assert.deepEqual(back.tokenizer.tokens, tokenizer.tokens);
  assert.deepEqual(back.generation, ckpt.generation);
  const { moments, ...state } = back.trainer!;
  const { moments: expectedMoments, ...expectedState } = ckpt.trainer!;
  assert.deepEqual(state, expectedState);
  assert.deepEqual([...moments].map(([k, v]) => [k, v.shape, Array.from(v.data)]), [...expectedMoments].map(([k, v]) => [k, v.shape, Array.from(v.data)]));
});

test('config.json and generation_config.json carry the HF fields', async () => {
  const dir = path.join(tmp(), 'ckpt');
  await saveCheckpoint(dir, { config, weights: weightsFor(config), tokenizer });
  const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(cfg.architectures, ['LlamaForCausalLM']);
  assert.equal(cfg.model_type, 'llama');
  assert.equal(cfg.torch_dtype, 'float32');
  assert.equal(cfg.hidden_act, 'silu');
  assert.equal(cfg.attention_bias, false);
  assert.equal(cfg.mlp_bias, false);
  assert.equal(cfg.num_key_value_heads, 2);
  assert.equal(cfg.tie_word_embeddings, false);
  const gen = JSON.parse(readFileSync(path.join(dir, 'generation_config.json'), 'utf8'));
  assert.deepEqual(gen, { bos_token_id: 1, eos_token_id: 2, pad_token_id: 0 });
  assert.equal(existsSync(path.join(dir, 'trainer_state.json')), false);
  const back = await loadCheckpoint(dir);
  assert.equal(back.trainer, undefined);
});

test('tied embeddings: no lm_head.weight is written or required', async () => {
  const tied = { ...config, tie_word_embeddings: true };
  const dir = path.join(tmp(), 'tied');
  await saveCheckpoint(dir, { config: tied, weights: weightsFor(tied), tokenizer });
  const back = await loadCheckpoint(dir);
  assert.equal(back.weights.has('lm_head.weight'), false);
  assert.equal(back.config.tie_word_embeddings, true);
});

test('saving over a checkpoint replaces it whole; a failed save leaves the old one and no temp folders', async () => {
  const parent = tmp();
  const dir = path.join(parent, 'ckpt');
  await saveCheckpoint(dir, sample(0));
  await saveCheckpoint(dir, { ...sample(1), trainer: undefined });
  let back = await loadCheckpoint(dir);
  assert.equal(back.trainer, undefined, 'trainer_state from the first save must be gone');
  assert.deepEqual(Array.from(back.weights.get('model.norm.weight')!.data), Array.from(weightsFor(config, 1).get('model.norm.weight')!.data));
  const bad = sample(2);
  bad.weights.get('model.layers.1.mlp.up_proj.weight')!.data[5] = NaN;
  await assert.rejects(saveCheckpoint(dir, bad), refusal('model.layers.1.mlp.up_proj.weight', /NaN.*flat index 5/));
  back = await loadCheckpoint(dir);
  assert.deepEqual(Array.from(back.weights.get('model.norm.weight')!.data), Array.from(weightsFor(config, 1).get('model.norm.weight')!.data));
  assert.deepEqual(readdirSync(parent), ['ckpt']);
});

test('a save killed between its renames leaves the old checkpoint aside; recoverCheckpoint puts it back', async () => {
  const parent = tmp();
  const dir = path.join(parent, 'latest');
  assert.equal(await recoverCheckpoint(dir), false, 'nothing saved: nothing to recover');
  await saveCheckpoint(dir, sample(0));
  assert.equal(await recoverCheckpoint(dir), false, 'a complete checkpoint stays as it is');
  // the first rename of the next save happened, the second did not: only the set-aside folder is left
  renameSync(dir, `${dir}.old-123-abcd`);
  assert.equal(existsSync(dir), false);
  assert.equal(await recoverCheckpoint(dir), true);
  assert.equal((await loadCheckpoint(dir)).trainer?.step, 17, 'the previous checkpoint is back');
  // killed after the swap, before the set-aside folder was removed: the leftover goes, the new checkpoint stays
  await saveCheckpoint(`${dir}.old-9-ffff`, sample(1));
  assert.equal(await recoverCheckpoint(dir), false);
  assert.deepEqual(readdirSync(parent), ['latest']);
  assert.equal((await loadCheckpoint(dir)).trainer?.step, 17);
});

/** Saves a good checkpoint, then replaces model.safetensors with `weights` written directly. */
async function withWeights(mutate: (w: NamedTensors) => void): Promise<string> {
  const dir = path.join(tmp(), 'ckpt');
  await saveCheckpoint(dir, { config, weights: weightsFor(config), tokenizer });
  const w = weightsFor(config);
  mutate(w);
  writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensors(w));
  return dir;
}

test('load refuses a tensor whose shape disagrees with config.json, naming it with expected vs actual', async () => {
  const dir = await withWeights((w) => w.set('model.layers.0.self_attn.k_proj.weight', { shape: [16, 16], data: new Float32Array(256) }));
  await assert.rejects(loadCheckpoint(dir), refusal('model.layers.0.self_attn.k_proj.weight', /expected \[8, 16\], actual \[16, 16\]/));
});

test('load refuses a missing tensor, an unexpected one, and NaN/Inf weights', async () => {
  let dir = await withWeights((w) => w.delete('model.layers.1.post_attention_layernorm.weight'));
  await assert.rejects(loadCheckpoint(dir), refusal('model.layers.1.post_attention_layernorm.weight', /missing .*\[16\]/));
  dir = await withWeights((w) => w.set('model.layers.2.input_layernorm.weight', { shape: [16], data: new Float32Array(16) }));
  await assert.rejects(loadCheckpoint(dir), refusal('model.layers.2.input_layernorm.weight', /unexpected tensor/));
  dir = await withWeights((w) => { w.get('model.embed_tokens.weight')!.data[3] = Infinity; });
  await assert.rejects(loadCheckpoint(dir), refusal('model.embed_tokens.weight', /Infinity at flat index 3 is not finite/));
  dir = await withWeights((w) => { w.get('lm_head.weight')!.data[0] = NaN; });
  await assert.rejects(loadCheckpoint(dir), refusal('lm_head.weight', /NaN/));
});

test('load refuses a truncated model.safetensors, naming the file and tensor', async () => {
  const dir = path.join(tmp(), 'ckpt');
  await saveCheckpoint(dir, { config, weights: weightsFor(config), tokenizer });
  const file = path.join(dir, 'model.safetensors');
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, bytes.length - 100));
  await assert.rejects(loadCheckpoint(dir), (e: unknown) => e instanceof RlmeshError && e.category === 'data' && /truncated/.test(e.message) && e.message.includes(file));
  writeFileSync(file, bytes.subarray(0, 6));
  await assert.rejects(loadCheckpoint(dir), refusal('(header)', /truncated file/));
});

test('load refuses bad config.json / tokenizer.json / trainer_state.json and a missing folder', async () => {
  const dir = path.join(tmp(), 'ckpt');
  await saveCheckpoint(dir, sample());
  const cfgFile = path.join(dir, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
  writeFileSync(cfgFile, JSON.stringify({ ...cfg, num_key_value_heads: 3 }));
  await assert.rejects(loadCheckpoint(dir), refusal('num_key_value_heads', /config\.json/));
  writeFileSync(cfgFile, JSON.stringify({ ...cfg, vocab_size: 50 }));
  await assert.rejects(loadCheckpoint(dir), refusal('vocab_size', /vocab_size 50 is not the tokenizer's/));
  // Values that load but cannot run: ids past the tokenizer would be sampled and not decoded, an eos other than the
  // tokenizer's never stops a completion, and these rotary bases and norm epsilons compute NaN or flat distributions.
  for (const [patch, field, message] of [
    [{ vocab_size: cfg.vocab_size + 100 }, 'vocab_size', /a padded vocabulary is not supported/],
    [{ eos_token_id: 50 }, 'eos_token_id', /eos_token_id 50 is not the tokenizer's 2/],
    [{ rope_theta: 1e-300 }, 'rope_theta', /must be a number in \[1, 1000000000000\]/],
    [{ rms_norm_eps: 1e300 }, 'rms_norm_eps', /must be a number in \(0, 0.1\]/],
  ] as const) {
    writeFileSync(cfgFile, JSON.stringify({ ...cfg, ...patch }));
    await assert.rejects(loadCheckpoint(dir), refusal(field, message));
  }
  writeFileSync(cfgFile, '{ not json');
  await assert.rejects(loadCheckpoint(dir), refusal('config.json', /not valid JSON/));
  writeFileSync(cfgFile, JSON.stringify(cfg));
  const stateFile = path.join(dir, 'trainer_state.json');
  writeFileSync(stateFile, JSON.stringify({ step: -1, policy_version: 0, optimizer: { name: 'adamw' } }));
  await assert.rejects(loadCheckpoint(dir), refusal('step', /integer >= 0/));
  await assert.rejects(loadCheckpoint(path.join(dir, 'nope')), (e: unknown) => e instanceof RlmeshError && e.category === 'not_found');
});
