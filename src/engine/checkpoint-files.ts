// The JSON files of a checkpoint folder: config.json, generation_config.json, tokenizer_config.json and
// trainer_state.json — how each is written and how a loaded one is validated.
import { ErrorCategory, RlmeshError, isRlmeshError } from '../errors.ts';
import { headDim, validateLlamaConfig, type LlamaConfig } from './config.ts';
import type { CharTokenizer } from './tokenizer.ts';

/** Sampling defaults stored in generation_config.json (HF GenerationConfig names). */
export interface GenerationConfig {
  max_new_tokens?: number;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  do_sample?: boolean;
}

/** The JSON half of trainer_state (the optimizer moments live in trainer_state.safetensors). */
export interface TrainerStateJson {
  /** Optimizer steps taken. */
  step: number;
  /** Policy version the weights correspond to. */
  policy_version: number;
  /** Optimizer name and hyper-parameters, e.g. { name: 'adamw', lr: 1e-3, beta1: 0.9, ... }. */
  optimizer: { name: string } & Record<string, string | number | boolean>;
  /** Curriculum sampler state; opaque JSON owned by src/curriculum. */
  curriculum?: unknown;
  /** Random generator state; opaque JSON owned by whoever draws the numbers. */
  rng?: unknown;
}

function fileError(file: string, field: string, message: string, cause?: unknown): RlmeshError {
  return new RlmeshError(ErrorCategory.data, `${file}: ${field}: ${message}`, { field, cause });
}

/** config.json as HF `LlamaForCausalLM` expects it (float32, SiLU, no biases). */
export function configJson(config: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    torch_dtype: 'float32',
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    attention_dropout: 0.0,
    rope_scaling: null,
    head_dim: headDim(config),
    ...config,
  };
}

/** Parses config.json; errors name the file and the field. */
export function parseConfigJson(raw: unknown, file: string): LlamaConfig {
  const r = (raw ?? {}) as Record<string, unknown>;
  if (r.model_type !== undefined && r.model_type !== 'llama') {
    throw fileError(file, 'model_type', `expected "llama", got ${JSON.stringify(r.model_type)}`);
  }
  if (r.hidden_act !== undefined && r.hidden_act !== 'silu') {
    throw fileError(file, 'hidden_act', `only "silu" is supported, got ${JSON.stringify(r.hidden_act)}`);
  }
  if (r.rope_scaling !== undefined && r.rope_scaling !== null) {
    throw fileError(file, 'rope_scaling', 'RoPE scaling is not supported');
  }
  try {
    return validateLlamaConfig(raw);
  } catch (e) {
    if (isRlmeshError(e)) throw fileError(file, e.field ?? '(root)', e.message.replace(`${e.field}: `, ''), e);
    throw e;
  }
}

export function generationConfigJson(config: LlamaConfig, generation: GenerationConfig = {}): Record<string, unknown> {
  return {
    bos_token_id: config.bos_token_id,
    eos_token_id: config.eos_token_id,
    pad_token_id: config.pad_token_id,
    ...generation,
  };
}

export function parseGenerationConfig(raw: unknown, file: string): GenerationConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fileError(file, '(root)', 'expected a JSON object');
  const r = raw as Record<string, unknown>;
  const out: GenerationConfig = {};
  const num = (k: 'max_new_tokens' | 'temperature' | 'top_k' | 'top_p', ok: (v: number) => boolean, rule: string): void => {
    if (r[k] === undefined || r[k] === null) return;
    const v = r[k];
    if (typeof v !== 'number' || !ok(v)) throw fileError(file, k, `${rule}, got ${JSON.stringify(v)}`);
    out[k] = v;
  };
  num('max_new_tokens', (v) => Number.isInteger(v) && v > 0, 'must be a positive integer');
  num('temperature', (v) => Number.isFinite(v) && v >= 0, 'must be a finite number >= 0');
  num('top_k', (v) => Number.isInteger(v) && v >= 0, 'must be an integer >= 0');
  num('top_p', (v) => v > 0 && v <= 1, 'must be in (0, 1]');
  if (r.do_sample !== undefined) {
    if (typeof r.do_sample !== 'boolean') throw fileError(file, 'do_sample', `must be a boolean, got ${JSON.stringify(r.do_sample)}`);
    out.do_sample = r.do_sample;
  }
  return out;
}

/** tokenizer_config.json so `AutoTokenizer.from_pretrained(dir)` builds a plain fast tokenizer from tokenizer.json. */
export function tokenizerConfigJson(tokenizer: CharTokenizer, maxLength: number): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: tokenizer.idToToken(tokenizer.bosId),
    eos_token: tokenizer.idToToken(tokenizer.eosId),
    unk_token: tokenizer.idToToken(tokenizer.unkId),
    pad_token: tokenizer.idToToken(tokenizer.padId),
    model_max_length: maxLength,
    clean_up_tokenization_spaces: false,
  };
}

export function parseTrainerStateJson(raw: unknown, file: string): TrainerStateJson {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fileError(file, '(root)', 'expected a JSON object');
  const r = raw as Record<string, unknown>;
  for (const k of ['step', 'policy_version'] as const) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw fileError(file, k, `must be an integer >= 0, got ${JSON.stringify(v)}`);
  }
  const opt = r.optimizer;
  if (typeof opt !== 'object' || opt === null || Array.isArray(opt) || typeof (opt as { name?: unknown }).name !== 'string') {
    throw fileError(file, 'optimizer', 'must be an object with a string "name"');
  }
  for (const [k, v] of Object.entries(opt)) {
    if (!['string', 'number', 'boolean'].includes(typeof v)) throw fileError(file, `optimizer.${k}`, `must be a string, number or boolean, got ${JSON.stringify(v)}`);
  }
  return {
    step: r.step as number,
    policy_version: r.policy_version as number,
    optimizer: opt as TrainerStateJson['optimizer'],
    ...(r.curriculum === undefined ? {} : { curriculum: r.curriculum }),
    ...(r.rng === undefined ? {} : { rng: r.rng }),
  };
}
