// Named float32 tensors in Hugging Face names and shapes, and the mapping to the engine's internal layout.
import { RlmeshError, ErrorCategory } from '../errors.ts';
import type { LlamaConfig } from './config.ts';
import { headDim } from './config.ts';

/** One tensor: row-major float32 data with its shape (HF layout: Linear weights are [out, in]). */
export interface NamedTensor { shape: number[]; data: Float32Array }
/** Tensors by Hugging Face parameter name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
export type NamedTensors = Map<string, NamedTensor>;

/** One HF tensor inside an internal parameter. */
interface Piece {
  hfName: string;
  /** HF shape: [n] for norms/copies, [out, in] for Linear weights. */
  hfShape: number[];
  /** copy: same layout; columns: HF [out, in] stored transposed as columns [offset, offset + out) of [in, total]. */
  kind: 'copy' | 'columns';
  offset: number;
}

/** An internal (trainable) parameter and the HF tensors it is made of. */
export interface ParamSpec { name: string; shape: number[]; pieces: Piece[] }

function linear(name: string, hfNames: Array<[string, number]>, inDim: number): ParamSpec {
  let offset = 0;
  const pieces: Piece[] = hfNames.map(([hfName, out]) => {
    const p: Piece = { hfName, hfShape: [out, inDim], kind: 'columns', offset };
    offset += out;
    return p;
  });
  return { name, shape: [inDim, offset], pieces };
}

function vector(name: string, hfName: string, n: number): ParamSpec {
  return { name, shape: [n], pieces: [{ hfName, hfShape: [n], kind: 'copy', offset: 0 }] };
}

/**
 * The engine stores Linear weights as [in, out] (plain x·W products), q/k/v fused into `qkv` and
 * gate/up fused into `gate_up`; the embedding keeps HF's [V, H].
 */
export function paramSpecs(c: LlamaConfig): ParamSpec[] {
  const H = c.hidden_size, I = c.intermediate_size, D = headDim(c);
  const q = c.num_attention_heads * D, kv = c.num_key_value_heads * D;
  const specs: ParamSpec[] = [{
    name: 'embed', shape: [c.vocab_size, H],
    pieces: [{ hfName: 'model.embed_tokens.weight', hfShape: [c.vocab_size, H], kind: 'copy', offset: 0 }],
  }];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    specs.push(
      vector(`layers.${i}.attn_norm`, `${p}.input_layernorm.weight`, H),
      linear(`layers.${i}.qkv`, [[`${p}.self_attn.q_proj.weight`, q], [`${p}.self_attn.k_proj.weight`, kv], [`${p}.self_attn.v_proj.weight`, kv]], H),
      linear(`layers.${i}.o`, [[`${p}.self_attn.o_proj.weight`, H]], q),
      vector(`layers.${i}.mlp_norm`, `${p}.post_attention_layernorm.weight`, H),
      linear(`layers.${i}.gate_up`, [[`${p}.mlp.gate_proj.weight`, I], [`${p}.mlp.up_proj.weight`, I]], H),
      linear(`layers.${i}.down`, [[`${p}.mlp.down_proj.weight`, H]], I),
    );
  }
  specs.push(vector('norm', 'model.norm.weight', H));
  if (!c.tie_word_embeddings) specs.push(linear('lm_head', [['lm_head.weight', c.vocab_size]], H));
  return specs;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function dataError(field: string, message: string): RlmeshError {
  return new RlmeshError(ErrorCategory.data, `${field}: ${message}`, { field });
}

/** Throws naming the tensor when a value is NaN or infinite. */
export function assertFinite(name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw dataError(name, `value ${data[i]} at flat index ${i} is not finite`);
    }
  }
}

/**
 * HF tensors -> internal parameter data. Checks every expected name is present with the expected shape,
 * every value is finite, and no unexpected tensor is left over (errors name the tensor).
 */
export function hfToInternal(c: LlamaConfig, weights: NamedTensors): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const used = new Set<string>();
  for (const spec of paramSpecs(c)) {
    const dst = new Float32Array(size(spec.shape));
    const total = spec.shape[spec.shape.length - 1]!;
    for (const piece of spec.pieces) {
      const t = weights.get(piece.hfName);
      if (!t) throw dataError(piece.hfName, `missing tensor (expected shape [${piece.hfShape.join(', ')}])`);
      if (t.shape.length !== piece.hfShape.length || t.shape.some((d, i) => d !== piece.hfShape[i])) {
        throw dataError(piece.hfName, `shape [${t.shape.join(', ')}] does not match the config's [${piece.hfShape.join(', ')}]`);
      }
      if (t.data.length !== size(piece.hfShape)) {
        throw dataError(piece.hfName, `has ${t.data.length} values, shape [${t.shape.join(', ')}] needs ${size(piece.hfShape)}`);
      }
      assertFinite(piece.hfName, t.data);
      used.add(piece.hfName);
      if (piece.kind === 'copy') { dst.set(t.data); continue; }
      const [o, n] = piece.hfShape as [number, number];
      for (let r = 0; r < o; r++) {
        for (let k = 0; k < n; k++) dst[k * total + piece.offset + r] = t.data[r * n + k]!;
      }
    }
    out.set(spec.name, dst);
  }
  for (const name of weights.keys()) {
    // HF checkpoints of tied models sometimes still carry lm_head.weight; rotary buffers are derived.
    if (used.has(name) || name.endsWith('rotary_emb.inv_freq')) continue;
    if (name === 'lm_head.weight' && c.tie_word_embeddings) continue;
    throw dataError(name, 'unexpected tensor for this config');
  }
  return out;
}

/** Internal parameter data -> HF tensors (names and shapes as HF LlamaForCausalLM writes them). */
export function internalToHf(c: LlamaConfig, params: Map<string, Float32Array>): NamedTensors {
  const out: NamedTensors = new Map();
  for (const spec of paramSpecs(c)) {
    const src = params.get(spec.name);
    if (!src) throw new RlmeshError(ErrorCategory.engine, `internal parameter ${spec.name} missing`, { field: spec.name });
    const total = spec.shape[spec.shape.length - 1]!;
    for (const piece of spec.pieces) {
      if (piece.kind === 'copy') {
        out.set(piece.hfName, { shape: [...piece.hfShape], data: Float32Array.from(src) });
        continue;
      }
      const [o, n] = piece.hfShape as [number, number];
      const data = new Float32Array(o * n);
      for (let r = 0; r < o; r++) {
        for (let k = 0; k < n; k++) data[r * n + k] = src[k * total + piece.offset + r]!;
      }
      out.set(piece.hfName, { shape: [...piece.hfShape], data });
    }
  }
  return out;
}
