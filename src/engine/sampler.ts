// Batched generation: left-padded prefill, then incremental decoding with a KV cache; seeded sampling.
import * as tf from '@tensorflow/tfjs';
import { invalidField } from '../errors.ts';
import type { LlamaModel } from './model.ts';
import { KVCache } from './kv-cache.ts';
import { Prng } from './prng.ts';
import { attentionBias } from './layers.ts';
import { drawToken, entropyOf, logSoftmaxRow, samplingLogprobs } from './distribution.ts';
import { checkSequences } from './token-checks.ts';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Default 1; 0 = greedy. */
  temperature?: number;
  /** 0 = off (default). */
  topK?: number;
  /** 1 = off (default). */
  topP?: number;
  /** Extra stop token ids; the config's eos always stops. */
  stopTokens?: number[];
  /** Same seed, same samples. */
  seed: number;
  /** Benchmarks only: do not stop at eos (stop tokens still apply). */
  ignoreEos?: boolean;
  /** Diagnostics: raw logits [B, V] (row-major) of every decoding step before sampling. */
  onLogits?: (step: number, logits: Float32Array) => void;
}

export type FinishReason = 'stop' | 'length';

export interface GeneratedSequence {
  /** Sampled ids (a stop token, when hit, is the last one). */
  tokens: number[];
  /** log-prob of each sampled token under the sampling distribution (temperature/top-k/top-p). */
  samplingLogprobs: number[];
  /** log-prob of each sampled token under the raw model distribution. */
  modelLogprobs: number[];
  /** Entropy (nats) of each step's raw model distribution. */
  entropies: number[];
  finishReason: FinishReason;
}

function compileOptions(o: GenerateOptions, maxPos: number, promptLen: number) {
  const temperature = o.temperature ?? 1, topK = o.topK ?? 0, topP = o.topP ?? 1;
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw invalidField('max_new_tokens', `must be a positive integer, got ${o.maxNewTokens}`);
  if (promptLen + o.maxNewTokens > maxPos) {
    throw invalidField('max_new_tokens', `prompt length ${promptLen} + max_new_tokens ${o.maxNewTokens} exceeds max_position_embeddings=${maxPos}`);
  }
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw invalidField('temperature', `must be >= 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw invalidField('top_k', `must be a non-negative integer, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw invalidField('top_p', `must be in (0, 1], got ${topP}`);
  if (!Number.isFinite(o.seed)) throw invalidField('seed', `must be a finite number, got ${o.seed}`);
  return { temperature, topK, topP };
}

/** Samples continuations of ragged `prompts` (each non-empty). */
export function generate(model: LlamaModel, prompts: number[][], options: GenerateOptions): GeneratedSequence[] {
  const c = model.config;
  checkSequences(prompts, c, 'prompts');
  const B = prompts.length, P = Math.max(...prompts.map((p) => p.length));
  const params = compileOptions(options, c.max_position_embeddings, P);
  const stops = new Set([...(options.ignoreEos ? [] : [c.eos_token_id]), ...(options.stopTokens ?? [])]);
  const rng = new Prng(options.seed);
  const V = c.vocab_size;
  // Left padding so every row's next token sits at the same column.
  const keyMask: number[][] = prompts.map((p) => [...new Array<number>(P - p.length).fill(0), ...p.map(() => 1)]);
  const padded = prompts.map((p) => [...new Array<number>(P - p.length).fill(c.pad_token_id), ...p]);
  const out: GeneratedSequence[] = prompts.map(() => ({ tokens: [], samplingLogprobs: [], modelLogprobs: [], entropies: [], finishReason: 'length' }));
  const done = new Array<boolean>(B).fill(false);
  const cache = new KVCache(c.num_hidden_layers);
  try {
    let ids = padded;
    let positions = keyMask.map((row) => { let n = -1; return row.map((m) => Math.max(0, (n += m))); });
    for (let step = 0; step < options.maxNewTokens; step++) {
      const T = ids[0]!.length;
      const logits = tf.tidy(() => {
        const idT = tf.tensor2d(ids, [B, T], 'int32');
        const posT = tf.tensor2d(positions, [B, T], 'int32');
        const bias = attentionBias(tf.tensor2d(keyMask, [B, keyMask[0]!.length], 'int32'), T);
        const h = model.hidden(idT, posT, bias, cache); // [B*T, H]
        const last = tf.reshape(tf.slice(tf.reshape(h, [B, T, c.hidden_size]), [0, T - 1, 0], [B, 1, c.hidden_size]), [B, c.hidden_size]) as tf.Tensor2D; // [B, H]
        return model.head(last); // [B, V]
      });
      const data = logits.dataSync() as Float32Array;
      logits.dispose();
      options.onLogits?.(step, data);
      const next: number[] = [];
      const active = done.map((d) => !d); // rows whose next fed token is a real (attended) token
      for (let b = 0; b < B; b++) {
        if (done[b]) { next.push(c.pad_token_id); continue; }
        const raw = logSoftmaxRow(data.subarray(b * V, (b + 1) * V));
        const sp = samplingLogprobs(raw, params);
        const tok = drawToken(sp, rng);
        const seq = out[b]!;
        seq.tokens.push(tok);
        seq.samplingLogprobs.push(sp[tok]!);
        seq.modelLogprobs.push(raw[tok]!);
        seq.entropies.push(entropyOf(raw));
        if (stops.has(tok)) { done[b] = true; seq.finishReason = 'stop'; }
        next.push(tok);
      }
      if (done.every(Boolean)) break;
      ids = next.map((t) => [t]);
      // Positions count attended tokens only, as positionsFromMask does for a full forward pass.
      positions = positions.map((row, b) => [row[row.length - 1]! + (active[b] ? 1 : 0)]);
      keyMask.forEach((row, b) => row.push(active[b] ? 1 : 0));
    }
  } finally {
    cache.dispose();
  }
  return out;
}
