// Teacher scoring: per-token log-probs of given completions, entropies, top-k or full log-softmax, in chunks.
import * as tf from '@tensorflow/tfjs';
import { invalidField } from '../errors.ts';
import type { LlamaModel } from './model.ts';
import { pickTokens } from './model.ts';
import { KVCache } from './kv-cache.ts';
import { attentionBias } from './layers.ts';
import { checkSequences } from './token-checks.ts';

export interface ScoreItem {
  /** At least one token (e.g. bos): the first completion token is predicted from the last prompt token. */
  prompt: number[];
  completion: number[];
}

export interface ScoreOptions {
  /** Also return the k most likely ids and their log-probs at each completion position (0 = off). */
  topK?: number;
  /** Also return the full log-softmax [completion length, V] per sequence. */
  full?: boolean;
  /** Positions per forward chunk (bounds memory at B * chunk * V); default 128. */
  chunkSize?: number;
}

export interface ScoredSequence {
  /** log p(completion[i] | prompt, completion[..i]). */
  logprobs: number[];
  /** Entropy (nats) of the model distribution at each completion position. */
  entropies: number[];
  topK?: { ids: number[][]; logprobs: number[][] };
  /** Row-major [completion length, V]. */
  full?: Float32Array;
}

export function score(model: LlamaModel, items: ScoreItem[], options: ScoreOptions = {}): ScoredSequence[] {
  const c = model.config, V = c.vocab_size;
  if (!Array.isArray(items) || items.length === 0) throw invalidField('items', 'must be a non-empty list');
  checkSequences(items.map((it) => it.prompt), c, 'prompt');
  checkSequences(items.map((it) => it.completion), c, 'completion', true);
  items.forEach((it, b) => {
    const n = it.prompt.length + it.completion.length;
    if (n > c.max_position_embeddings) {
      throw invalidField(`items[${b}]`, `prompt + completion length ${n} exceeds max_position_embeddings=${c.max_position_embeddings}`, { length: n });
    }
  });
  const topK = options.topK ?? 0, chunk = options.chunkSize ?? 128;
  if (!Number.isInteger(topK) || topK < 0 || topK > V) throw invalidField('top_k', `must be an integer in [0, ${V}], got ${topK}`);
  if (!Number.isInteger(chunk) || chunk < 1) throw invalidField('chunk_size', `must be a positive integer, got ${chunk}`);

  const B = items.length;
  const seqs = items.map((it) => [...it.prompt, ...it.completion]);
  const T = Math.max(...seqs.map((s) => s.length));
  // Right padding: position t predicts seqs[b][t + 1].
  const ids = seqs.map((s) => [...s, ...new Array<number>(T - s.length).fill(c.pad_token_id)]);
  const mask = seqs.map((s) => [...s.map(() => 1), ...new Array<number>(T - s.length).fill(0)]);
  const out: ScoredSequence[] = items.map((it) => ({
    logprobs: [], entropies: [],
    ...(topK > 0 ? { topK: { ids: [], logprobs: [] } } : {}),
    ...(options.full ? { full: new Float32Array(it.completion.length * V) } : {}),
  }));
  const cache = new KVCache(c.num_hidden_layers);
  try {
    const last = T - 1; // the final position has no target
    for (let t0 = 0; t0 < last; t0 += chunk) {
      const t1 = Math.min(last, t0 + chunk), C = t1 - t0;
      const targets = ids.map((row) => row.slice(t0 + 1, t1 + 1));
      const res = tf.tidy(() => {
        const idT = tf.tensor2d(ids.map((r) => r.slice(t0, t1)), [B, C], 'int32');
        const pos = tf.tensor2d(ids.map(() => Array.from({ length: C }, (_, i) => t0 + i)), [B, C], 'int32');
        const bias = attentionBias(tf.tensor2d(mask.map((r) => r.slice(0, t1)), [B, t1], 'int32'), C);
        const h = model.hidden(idT, pos, bias, cache);
        const lsm = tf.reshape(tf.logSoftmax(model.head(h), -1), [B, C, V]) as tf.Tensor3D; // [B, C, V]
        const picked = pickTokens(lsm, tf.tensor2d(targets, [B, C], 'int32'));
        const ent = tf.neg(tf.sum(tf.mul(tf.exp(lsm), lsm), -1)); // [B, C]
        const top = topK > 0 ? tf.topk(lsm, topK) : null;
        return [picked, ent, ...(top ? [top.values, top.indices] : []), ...(options.full ? [lsm] : [])];
      });
      const [picked, ent] = [res[0]!.dataSync(), res[1]!.dataSync()];
      const topV = topK > 0 ? res[2]!.dataSync() : undefined, topI = topK > 0 ? res[3]!.dataSync() : undefined;
      const full = options.full ? res[res.length - 1]!.dataSync() : undefined;
      for (const t of res) t.dispose();
      for (let b = 0; b < B; b++) {
        const start = items[b]!.prompt.length - 1, end = seqs[b]!.length - 1; // positions with a completion target
        for (let t = Math.max(t0, start); t < Math.min(t1, end); t++) {
          const j = (t - t0) + b * C, seq = out[b]!;
          seq.logprobs.push(picked[j]!);
          seq.entropies.push(ent[j]!);
          if (seq.topK && topV && topI) {
            seq.topK.ids.push(Array.from(topI.subarray(j * topK, (j + 1) * topK)));
            seq.topK.logprobs.push(Array.from(topV.subarray(j * topK, (j + 1) * topK)));
          }
          if (seq.full && full) seq.full.set(full.subarray(j * V, (j + 1) * V), (t - start) * V);
        }
      }
    }
  } finally {
    cache.dispose();
  }
  return out;
}
