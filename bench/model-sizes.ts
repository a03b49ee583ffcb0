// Benchmark model sizes S and M and the engine learner step the benches time (shared by bench:engine and
// bench:objectives, so both measure the same architecture, batch, sequence length and step).
import * as tf from '@tensorflow/tfjs';
import { AdamW, LlamaModel } from '../src/engine/index.ts';
import type { LlamaConfig } from '../src/engine/index.ts';

export interface ModelSize {
  name: 'S' | 'M';
  /** Rows per micro-batch (gradient accumulation keeps activations inside wasm's 4 GB memory). */
  micro: number;
  /** Timed learner steps in bench:engine. */
  steps: number;
  vocab: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  /** Learner sequence length (tokens per row) and rows per learner step. */
  seq: number;
  batch: number;
  /** Generation: prompt length and new tokens. */
  prompt: number;
  new_tokens: number;
}

// S runs in micro-batches of 16 rows: peak RSS 0.94 GB instead of 1.52 GB with one batch of 32, inside the
// 1.5x-of-PyTorch (0.7 GB) memory target; learner ratio to PyTorch 0.97x vs 0.94x with 32 rows (bench/RESULTS.md,
// AMD EPYC runs of 13:59 and 13:46, OpenBLAS addon).
export const MODEL_SIZES: Record<ModelSize['name'], ModelSize> = {
  S: { name: 'S', micro: 16, steps: 3, vocab: 64, hidden: 128, intermediate: 512, layers: 4, heads: 4, seq: 128, batch: 32, prompt: 8, new_tokens: 128 },
  M: { name: 'M', micro: 4, steps: 1, vocab: 64, hidden: 256, intermediate: 1024, layers: 6, heads: 8, seq: 256, batch: 64, prompt: 8, new_tokens: 128 },
};

export function llamaConfigOf(s: ModelSize): LlamaConfig {
  return {
    vocab_size: s.vocab, hidden_size: s.hidden, intermediate_size: s.intermediate, num_hidden_layers: s.layers,
    num_attention_heads: s.heads, num_key_value_heads: s.heads, max_position_embeddings: Math.max(s.seq, s.prompt + s.new_tokens),
    rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0,
  };
}

export interface LearnerStepBench {
  model: LlamaModel;
  /** One learner step: forward + backward + AdamW (clip 1.0) on the mean token log-prob of `batch` rows. */
  step(): void;
  /** Token id generator (seeded) the rows were drawn from, for further inputs (generation prompts). */
  randomToken(): number;
  dispose(): void;
}

/**
 * A freshly initialised model of size `s` with AdamW and a fixed random batch of `s.batch` rows of `s.seq + 1`
 * tokens, split in micro-batches of `s.micro` rows; the summed loss is the full batch's mean token log-prob loss.
 * `onLoss` runs after each micro-batch's forward pass (memory probes).
 */
export function learnerStepBench(s: ModelSize, onLoss: () => void = () => {}): LearnerStepBench {
  const model = LlamaModel.init(llamaConfigOf(s), 0);
  const opt = new AdamW(model.params, { lr: 1e-3, weightDecay: 0.01, maxGradNorm: 1 });
  let seed = 7;
  const randomToken = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % s.vocab;
  const rows = Array.from({ length: s.batch }, () => Array.from({ length: s.seq + 1 }, randomToken));
  const lossFn = Array.from({ length: s.batch / s.micro }, (_, j) => {
    const part = rows.slice(j * s.micro, (j + 1) * s.micro);
    const ids = part.map((r) => r.slice(0, -1));
    const tgt = part.map((r) => r.slice(1));
    return () => {
      const l = tf.div(tf.neg(tf.sum(model.tokenLogprobs(ids, undefined, tgt))), s.batch * s.seq) as tf.Scalar;
      onLoss();
      return l;
    };
  });
  return {
    model,
    step: () => void opt.trainStep(lossFn),
    randomToken,
    dispose: () => {
      opt.dispose();
      model.dispose();
    },
  };
}
