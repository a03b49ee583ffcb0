// Test helper: a naive float64 Llama forward pass straight from HF-named weights ([out, in] Linear layout),
// written independently of the engine to check its layout, rotary convention, GQA and masking.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import type { LlamaConfig, NamedTensors } from '../../../src/engine/index.ts';
import { Prng } from '../../../src/engine/prng.ts';

export const tinyConfig = (over: Partial<LlamaConfig> = {}): LlamaConfig => ({
  vocab_size: 11, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, max_position_embeddings: 24, rms_norm_eps: 1e-6, rope_theta: 10000,
  tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, ...over,
});

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

type Mat = number[][];
const W = (w: NamedTensors, name: string): Mat => {
  const t = w.get(name)!;
  const [r, c] = t.shape as [number, number];
  return Array.from({ length: r }, (_, i) => Array.from(t.data.subarray(i * c, (i + 1) * c)));
};
const vec = (w: NamedTensors, name: string): number[] => Array.from(w.get(name)!.data);
/** y = W x for HF W [out, in]. */
const apply = (m: Mat, x: number[]): number[] => m.map((row) => row.reduce((s, v, i) => s + v * x[i]!, 0));
const rms = (x: number[], g: number[], eps: number): number[] => {
  const s = 1 / Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length + eps);
  return x.map((v, i) => v * s * g[i]!);
};

/** Logits [T][V] for one unpadded sequence (positions 0..T-1). */
export function referenceLogits(c: LlamaConfig, w: NamedTensors, ids: number[]): number[][] {
  const D = c.hidden_size / c.num_attention_heads, nh = c.num_attention_heads, g = nh / c.num_key_value_heads;
  const E = W(w, 'model.embed_tokens.weight');
  let xs = ids.map((id) => [...E[id]!]);
  const rope = (v: number[], pos: number): number[] => v.map((x, i) => {
    const j = i % (D / 2);
    const ang = pos / Math.pow(c.rope_theta, (2 * j) / D);
    const rot = i < D / 2 ? -v[i + D / 2]! : v[i - D / 2]!;
    return x * Math.cos(ang) + rot * Math.sin(ang);
  });
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const hs = xs.map((x) => rms(x, vec(w, `${p}.input_layernorm.weight`), c.rms_norm_eps));
    const heads = (m: Mat, n: number) => hs.map((h, t) => {
      const y = apply(m, h);
      return Array.from({ length: n }, (_, k) => y.slice(k * D, (k + 1) * D)).map((v) => ({ v, t }));
    });
    const q = heads(W(w, `${p}.self_attn.q_proj.weight`), nh).map((r) => r.map(({ v, t }) => rope(v, t)));
    const k = heads(W(w, `${p}.self_attn.k_proj.weight`), c.num_key_value_heads).map((r) => r.map(({ v, t }) => rope(v, t)));
    const v = heads(W(w, `${p}.self_attn.v_proj.weight`), c.num_key_value_heads).map((r) => r.map(({ v }) => v));
    const O = W(w, `${p}.self_attn.o_proj.weight`);
    xs = xs.map((x, t) => {
      const cat: number[] = [];
      for (let h = 0; h < nh; h++) {
        const kv = Math.floor(h / g);
        const s = Array.from({ length: t + 1 }, (_, j) => q[t]![h]!.reduce((a, qi, i) => a + qi * k[j]![kv]![i]!, 0) / Math.sqrt(D));
        const m = Math.max(...s), e = s.map((z) => Math.exp(z - m)), z = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < D; i++) cat.push(e.reduce((a, ej, j) => a + (ej / z) * v[j]![kv]![i]!, 0));
      }
      return apply(O, cat).map((o, i) => x[i]! + o);
    });
    xs = xs.map((x) => {
      const h = rms(x, vec(w, `${p}.post_attention_layernorm.weight`), c.rms_norm_eps);
      const gt = apply(W(w, `${p}.mlp.gate_proj.weight`), h), up = apply(W(w, `${p}.mlp.up_proj.weight`), h);
      const act = gt.map((a, i) => (a / (1 + Math.exp(-a))) * up[i]!);
      return apply(W(w, `${p}.mlp.down_proj.weight`), act).map((o, i) => x[i]! + o);
    });
  }
  const head = c.tie_word_embeddings ? E : W(w, 'lm_head.weight');
  return xs.map((x) => apply(head, rms(x, vec(w, 'model.norm.weight'), c.rms_norm_eps)));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** n values uniform in [-1, 1) from a seeded Prng. */
export function randomArray(n: number, seed: number): Float32Array {
  const r = new Prng(seed);
  return Float32Array.from({ length: n }, () => r.uniform() * 2 - 1);
}
