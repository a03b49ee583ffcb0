// LlamaConfig: the model hyper-parameters (Hugging Face LlamaConfig field names) and their validation.
import { invalidField } from '../errors.ts';

/** Field names and meaning follow Hugging Face `LlamaConfig`. */
export interface LlamaConfig {
  vocab_size: number;
  hidden_size: number;
  /** Width of the SwiGLU MLP (gate/up output size). */
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Grouped-query attention: key/value heads; must divide num_attention_heads. */
  num_key_value_heads: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  /** When true the LM head reuses `model.embed_tokens.weight` (no `lm_head.weight`). */
  tie_word_embeddings: boolean;
  bos_token_id: number;
  eos_token_id: number;
  pad_token_id: number;
}

const INT_FIELDS = [
  'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads',
  'num_key_value_heads', 'max_position_embeddings',
] as const;
const TOKEN_FIELDS = ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const;

/**
 * Every key a config.json may hold: the fields read here and those Hugging Face writes that change nothing in this
 * engine. A model config a user writes (`rlmesh init`) is held to it, so a misspelt key is not silently defaulted.
 */
export const LLAMA_CONFIG_KEYS: readonly string[] = [
  ...INT_FIELDS, ...TOKEN_FIELDS, 'rms_norm_eps', 'rope_theta', 'tie_word_embeddings', 'head_dim', 'attention_bias', 'mlp_bias',
  'architectures', 'model_type', 'torch_dtype', 'hidden_act', 'initializer_range', 'use_cache', 'transformers_version',
  'rope_scaling', 'attention_dropout', 'pretraining_tp',
];

function positiveInt(raw: Record<string, unknown>, key: string): number {
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw invalidField(key, `must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A number in (min, max] (`min` itself allowed when `minInclusive`), defaulted when absent. */
function numberIn(raw: Record<string, unknown>, key: string, fallback: number, range: { min: number; max: number; minInclusive?: boolean; why: string }): number {
  const v = raw[key] ?? fallback;
  const above = range.minInclusive ? (x: number) => x >= range.min : (x: number) => x > range.min;
  if (typeof v !== 'number' || !Number.isFinite(v) || !above(v) || v > range.max) {
    throw invalidField(key, `must be a number in ${range.minInclusive ? '[' : '('}${range.min}, ${range.max}] (${range.why}), got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Validates a parsed config.json (extra HF keys such as `architectures` are ignored).
 * Defaults as in HF: num_key_value_heads = num_attention_heads, rms_norm_eps 1e-6, rope_theta 10000,
 * tie_word_embeddings false. Token ids default to bos 1, eos 2, pad 0.
 */
export function validateLlamaConfig(raw: unknown): LlamaConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidField('config', `must be an object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`);
  }
  const r = raw as Record<string, unknown>;
  const withDefaults: Record<string, unknown> = { ...r, num_key_value_heads: r.num_key_value_heads ?? r.num_attention_heads };
  const ints = Object.fromEntries(INT_FIELDS.map((k) => [k, positiveInt(withDefaults, k)])) as Record<(typeof INT_FIELDS)[number], number>;
  const tie = r.tie_word_embeddings ?? false;
  if (typeof tie !== 'boolean') throw invalidField('tie_word_embeddings', `must be a boolean, got ${JSON.stringify(tie)}`);
  const tokenDefaults = { bos_token_id: 1, eos_token_id: 2, pad_token_id: 0 };
  const tokens = {} as Record<(typeof TOKEN_FIELDS)[number], number>;
  for (const k of TOKEN_FIELDS) {
    const v = r[k] ?? tokenDefaults[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= ints.vocab_size) {
      throw invalidField(k, `must be an integer in [0, vocab_size=${ints.vocab_size}), got ${JSON.stringify(v)}`);
    }
    tokens[k] = v;
  }
  if (ints.hidden_size % ints.num_attention_heads !== 0) {
    throw invalidField('num_attention_heads', `hidden_size=${ints.hidden_size} is not divisible by num_attention_heads=${ints.num_attention_heads}`);
  }
  if ((ints.hidden_size / ints.num_attention_heads) % 2 !== 0) {
    throw invalidField('num_attention_heads', `head dim ${ints.hidden_size / ints.num_attention_heads} must be even for rotary embeddings`);
  }
  if (ints.num_attention_heads % ints.num_key_value_heads !== 0) {
    throw invalidField('num_key_value_heads', `num_attention_heads=${ints.num_attention_heads} is not divisible by num_key_value_heads=${ints.num_key_value_heads}`);
  }
  if (r.head_dim !== undefined && r.head_dim !== null && r.head_dim !== ints.hidden_size / ints.num_attention_heads) {
    throw invalidField('head_dim', `only head_dim = hidden_size / num_attention_heads (${ints.hidden_size / ints.num_attention_heads}) is supported, got ${JSON.stringify(r.head_dim)}`);
  }
  for (const k of ['attention_bias', 'mlp_bias'] as const) {
    if (r[k] === true) throw invalidField(k, 'biases are not supported');
  }
  return {
    ...ints,
    // Outside these ranges the model computes NaN (rotary frequencies overflow) or a flat distribution (the norm's
    // epsilon swamps the activations) without failing anywhere.
    rms_norm_eps: numberIn(r, 'rms_norm_eps', 1e-6, { min: 0, max: 0.1, why: 'a small stabiliser; models use 1e-6 to 1e-5' }),
    rope_theta: numberIn(r, 'rope_theta', 10000, { min: 1, max: 1e12, minInclusive: true, why: 'the rotary base; models use 1e4 to 1e6' }),
    tie_word_embeddings: tie,
    ...tokens,
  };
}

/** Per-head width. */
export function headDim(c: LlamaConfig): number {
  return c.hidden_size / c.num_attention_heads;
}
