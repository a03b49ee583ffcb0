// Supervised fine-tuning on reference solutions (how `rlmesh pretrain` makes the teacher and the student start).
import * as tf from '@tensorflow/tfjs';
import { AdamW, pickTokens, type LlamaModel } from '../engine/index.ts';
import type { CharTokenizer } from '../engine/tokenizer.ts';
import type { Task } from '../tasks/index.ts';
import { encodePrompt } from './policy.ts';

/** Token ids of one SFT example: prompt (with bos) and the reference completion ending in eos. */
export function sftExample(tokenizer: CharTokenizer, task: Task): { prompt: number[]; completion: number[] } {
  return { prompt: encodePrompt(tokenizer, task.prompt), completion: [...tokenizer.encode(task.referenceSolution), tokenizer.eosId] };
}

/** One AdamW step of mean token negative log-likelihood on the completions. Returns the loss. */
export function sftStep(model: LlamaModel, optimizer: AdamW, examples: ReadonlyArray<{ prompt: number[]; completion: number[] }>, padId: number): number {
  const L = Math.max(...examples.map((e) => e.prompt.length + e.completion.length)) - 1;
  const B = examples.length;
  const inputs: number[][] = [], targets: number[][] = [], attention: number[][] = [];
  const mask = new Float32Array(B * L);
  examples.forEach((e, b) => {
    const seq = [...e.prompt, ...e.completion];
    const pad = (xs: number[]) => [...xs, ...Array(L - xs.length).fill(padId)];
    inputs.push(pad(seq.slice(0, -1)));
    targets.push(pad(seq.slice(1)));
    attention.push([...Array(seq.length - 1).fill(1), ...Array(L - seq.length + 1).fill(0)]);
    for (let i = 0; i < e.completion.length; i++) mask[b * L + e.prompt.length - 1 + i] = 1;
  });
  const ids = tf.tensor2d(inputs, [B, L], 'int32'), tgt = tf.tensor2d(targets, [B, L], 'int32');
  const att = tf.tensor2d(attention, [B, L], 'int32'), m = tf.tensor2d(mask, [B, L]);
  const count = mask.reduce((a, x) => a + x, 0);
  try {
    return optimizer.trainStep(() => {
      const lp = pickTokens(model.logSoftmax(ids, att), tgt); // [B, L]
      return tf.div(tf.neg(tf.sum(tf.mul(lp, m))), count) as tf.Scalar;
    }).loss;
  } finally {
    for (const t of [ids, tgt, att, m]) t.dispose();
  }
}
