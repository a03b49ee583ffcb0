// Llama-style decoder (RMSNorm, rotary, grouped-query attention, SwiGLU, no biases) on tfjs ops.
import * as tf from '@tensorflow/tfjs';
import { RlmeshError, ErrorCategory, invalidField } from '../errors.ts';
import type { LlamaConfig } from './config.ts';
import { headDim, validateLlamaConfig } from './config.ts';
import type { NamedTensors } from './weights.ts';
import { hfToInternal, internalToHf, paramSpecs } from './weights.ts';
import { Prng } from './prng.ts';
import type { KVCache } from './kv-cache.ts';
import { attentionBias, bmm, constRight, embed, linear, rmsNorm, ropeTables, rotateHalfMatrix, silu } from './layers.ts';

/** Token ids as nested arrays [B][T] or an int32 tensor [B, T]. */
export type TokenBatch = number[][] | tf.Tensor2D;

/** Checks ids are integers in [0, V) and length <= max positions; returns an int32 tensor [B, T]. */
export function toTokenTensor(ids: TokenBatch, c: LlamaConfig, field: string): tf.Tensor2D {
  const rows = Array.isArray(ids) ? ids : (ids.arraySync() as number[][]);
  if (rows.length === 0) throw invalidField(field, 'batch is empty');
  const T = rows[0]!.length;
  if (T === 0) throw invalidField(field, 'sequences are empty');
  if (T > c.max_position_embeddings) {
    throw invalidField(field, `length ${T} exceeds max_position_embeddings=${c.max_position_embeddings}`, { length: T });
  }
  rows.forEach((r, b) => {
    if (r.length !== T) throw invalidField(`${field}[${b}]`, `length ${r.length} differs from ${T} (pad the batch)`);
    r.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= c.vocab_size) {
        throw invalidField(`${field}[${b}][${t}]`, `token id ${id} is outside [0, vocab_size=${c.vocab_size})`, { value: id });
      }
    });
  });
  return Array.isArray(ids) ? tf.tensor2d(rows, [rows.length, T], 'int32') : (tf.cast(ids, 'int32') as tf.Tensor2D);
}

/** 0/1 mask [B, T]; absent means all ones. */
function toMask(mask: TokenBatch | undefined, B: number, T: number, field: string): tf.Tensor2D {
  if (mask === undefined) return tf.ones([B, T], 'int32');
  const rows = Array.isArray(mask) ? mask : (mask.arraySync() as number[][]);
  if (rows.length !== B || rows.some((r) => r.length !== T)) throw invalidField(field, `must have shape [${B}, ${T}] like the input ids`);
  rows.forEach((r, b) => r.forEach((m, t) => {
    if (m !== 0 && m !== 1) throw invalidField(`${field}[${b}][${t}]`, `must be 0 or 1, got ${m}`);
  }));
  return tf.tensor2d(rows, [B, T], 'int32');
}

/** Positions 0.. counting only attended tokens (left padding gets position 0). [B, T] int32. */
export function positionsFromMask(mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.maximum(tf.sub(tf.cumsum(mask, 1), 1), 0) as tf.Tensor2D);
}

/** Makes tfjs variable names unique across models in one process. */
let modelCounter = 0;

export class LlamaModel {
  readonly config: LlamaConfig;
  /** Trainable parameters in the internal layout (see weights.ts `paramSpecs`). */
  readonly params: Map<string, tf.Variable>;
  private readonly rot: tf.Tensor2D;
  private readonly rotT: tf.Tensor2D;

  private constructor(config: LlamaConfig, data: Map<string, Float32Array>) {
    this.config = config;
    this.params = new Map();
    modelCounter++;
    for (const spec of paramSpecs(config)) {
      const v = data.get(spec.name)!;
      // tidy: tf.variable takes a reference to the initial tensor's data; the initial tensor itself must be freed
      this.params.set(spec.name, tf.tidy(() => tf.variable(tf.tensor(v, spec.shape, 'float32'), true, `rlmesh/m${modelCounter}/${spec.name}`)));
    }
    const D = headDim(config);
    this.rot = rotateHalfMatrix(D);
    this.rotT = tf.transpose(this.rot);
  }

  /** Random init: N(0, 0.02) for matrices and the embedding, ones for norms (HF initializer_range). */
  static init(config: LlamaConfig, seed: number): LlamaModel {
    const c = validateLlamaConfig(config);
    const rng = new Prng(seed);
    const data = new Map<string, Float32Array>();
    for (const spec of paramSpecs(c)) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const a = new Float32Array(n);
      if (spec.shape.length === 1) a.fill(1);
      else for (let i = 0; i < n; i++) a[i] = 0.02 * rng.normal();
      data.set(spec.name, a);
    }
    return new LlamaModel(c, data);
  }

  /** Builds from HF-named tensors; every name, shape and value is checked (errors name the tensor). */
  static fromWeights(config: LlamaConfig, weights: NamedTensors): LlamaModel {
    const c = validateLlamaConfig(config);
    return new LlamaModel(c, hfToInternal(c, weights));
  }

  /** HF-named float32 copies of every parameter. */
  toWeights(): NamedTensors {
    return internalToHf(this.config, this.internalData());
  }

  /** Internal-layout copies of every parameter. */
  internalData(): Map<string, Float32Array> {
    const m = new Map<string, Float32Array>();
    for (const [k, v] of this.params) m.set(k, v.dataSync() as Float32Array);
    return m;
  }

  /** Overwrites all parameters from HF-named tensors (e.g. new policy weights), checking them first. */
  loadWeights(weights: NamedTensors): void {
    const data = hfToInternal(this.config, weights);
    for (const [k, v] of this.params) {
      const t = tf.tensor(data.get(k)!, v.shape, 'float32');
      v.assign(t); // the variable now holds a reference to the data; ours must be dropped or it leaks
      t.dispose();
    }
  }

  numParameters(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** Trainable variables, for tf.variableGrads / the optimizer. */
  variables(): tf.Variable[] {
    return [...this.params.values()];
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.rot.dispose();
    this.rotT.dispose();
  }

  private p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new RlmeshError(ErrorCategory.engine, `parameter ${name} missing`);
    return v;
  }

  /**
   * The decoder trunk. ids [B, T] int32, positions [B, T] int32, bias [B, 1, T, S] (S = cached + T).
   * Returns final-norm hidden states [B*T, H]. With `cache`, appends this step's keys/values to it.
   */
  hidden(ids: tf.Tensor2D, positions: tf.Tensor2D, bias: tf.Tensor4D, cache?: KVCache): tf.Tensor2D {
    const c = this.config;
    const [B, T] = ids.shape;
    const D = headDim(c), nh = c.num_attention_heads, nkv = c.num_key_value_heads;
    const g = nh / nkv, I = c.intermediate_size, N = B * T;
    const { cos, sin } = ropeTables(positions, D, c.rope_theta); // [B, T, 1, D]
    let x = embed(tf.reshape(ids, [N]) as tf.Tensor1D, this.p('embed') as tf.Tensor2D); // [N, H]
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const h = rmsNorm(x, this.p(`layers.${l}.attn_norm`) as tf.Tensor1D, c.rms_norm_eps);
      const qkv = tf.reshape(linear(h, this.p(`layers.${l}.qkv`) as tf.Tensor2D), [B, T, nh + 2 * nkv, D]); // [B, T, nh+2kv, D]
      const [qkRaw, vRaw] = tf.split(qkv, [nh + nkv, nkv], 2) as [tf.Tensor4D, tf.Tensor4D];
      const rotated = tf.reshape(constRight(tf.reshape(qkRaw, [N * (nh + nkv), D]), this.rot, this.rotT), [B, T, nh + nkv, D]);
      const qk = tf.add(tf.mul(qkRaw, cos), tf.mul(rotated, sin)); // [B, T, nh+kv, D]
      const [qT, kT] = tf.split(qk, [nh, nkv], 2) as [tf.Tensor4D, tf.Tensor4D];
      const q = tf.reshape(tf.mul(tf.transpose(qT, [0, 2, 1, 3]), 1 / Math.sqrt(D)), [B, nkv, g * T, D]); // [B, kv, g*T, D]
      let k = tf.transpose(kT, [0, 2, 1, 3]) as tf.Tensor4D; // [B, kv, T, D]
      let v = tf.transpose(vRaw, [0, 2, 1, 3]) as tf.Tensor4D; // [B, kv, T, D]
      if (cache) ({ k, v } = cache.append(l, k, v)); // [B, kv, S, D]
      const S = k.shape[2];
      const scores = tf.reshape(bmm(q as tf.Tensor4D, k, true), [B, nh, T, S]); // [B, nh, T, S]
      const probs = tf.reshape(tf.softmax(tf.add(scores, bias), -1), [B, nkv, g * T, S]); // [B, kv, g*T, S]
      const att = tf.reshape(bmm(probs as tf.Tensor4D, v), [B, nh, T, D]); // [B, nh, T, D]
      const merged = tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [N, nh * D]) as tf.Tensor2D; // [N, nh*D]
      x = tf.add(x, linear(merged, this.p(`layers.${l}.o`) as tf.Tensor2D));
      const h2 = rmsNorm(x, this.p(`layers.${l}.mlp_norm`) as tf.Tensor1D, c.rms_norm_eps);
      const [gate, up] = tf.split(linear(h2, this.p(`layers.${l}.gate_up`) as tf.Tensor2D), [I, I], 1) as [tf.Tensor2D, tf.Tensor2D];
      x = tf.add(x, linear(tf.mul(silu(gate), up), this.p(`layers.${l}.down`) as tf.Tensor2D));
    }
    return rmsNorm(x, this.p('norm') as tf.Tensor1D, c.rms_norm_eps);
  }

  /** LM head: hidden [N, H] -> logits [N, V]. */
  head(h: tf.Tensor2D): tf.Tensor2D {
    const w = this.config.tie_word_embeddings ? tf.transpose(this.p('embed') as tf.Tensor2D) : (this.p('lm_head') as tf.Tensor2D); // [H, V]
    return linear(h, w);
  }

  /**
   * Logits [B, T, V] for a padded batch (right or left padding; `attentionMask` 1 = token, 0 = pad).
   * Differentiable w.r.t. `variables()`.
   */
  logits(inputIds: TokenBatch, attentionMask?: TokenBatch): tf.Tensor3D {
    return tf.tidy(() => {
      const ids = toTokenTensor(inputIds, this.config, 'input_ids');
      const [B, T] = ids.shape;
      const mask = toMask(attentionMask, B, T, 'attention_mask');
      const h = this.hidden(ids, positionsFromMask(mask), attentionBias(mask, T));
      return tf.reshape(this.head(h), [B, T, this.config.vocab_size]) as tf.Tensor3D; // [B, T, V]
    });
  }

  /** Full log-softmax [B, T, V] (for distillation objectives). */
  logSoftmax(inputIds: TokenBatch, attentionMask?: TokenBatch): tf.Tensor3D {
    return tf.tidy(() => tf.logSoftmax(this.logits(inputIds, attentionMask), -1) as tf.Tensor3D);
  }

  /**
   * log p(targets[b][t] | inputIds[b][..t]) as [B, T]. Positions whose target is a pad can carry any valid
   * id; mask them in the objective. Differentiable (one-hot product, no gather gradient needed).
   */
  tokenLogprobs(inputIds: TokenBatch, attentionMask: TokenBatch | undefined, targets: TokenBatch): tf.Tensor2D {
    return tf.tidy(() => {
      const lsm = this.logSoftmax(inputIds, attentionMask); // [B, T, V]
      const tgt = toTokenTensor(targets, this.config, 'targets');
      const [B, T] = tgt.shape;
      if (B !== lsm.shape[0] || T !== lsm.shape[1]) throw invalidField('targets', `shape [${B}, ${T}] must match input_ids [${lsm.shape[0]}, ${lsm.shape[1]}]`);
      return pickTokens(lsm, tgt);
    });
  }
}

/** Per-token values lsm[b, t, targets[b, t]] -> [B, T] via a one-hot product (differentiable on every backend). */
export function pickTokens(lsm: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sum(tf.mul(lsm, tf.oneHot(targets, lsm.shape[2]).toFloat()), -1) as tf.Tensor2D);
}
