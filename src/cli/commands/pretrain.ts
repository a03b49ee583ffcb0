// `rlmesh pretrain`: trains the shipped teacher (SFT on reference traces) and a weaker student initialisation.
// Seeded and reproducible. Example: npx rlmesh pretrain --suite add:1-2 --out models
import path from 'node:path';
import { initBackend, LlamaModel, AdamW, type LlamaConfig } from '../../engine/index.ts';
import { CharTokenizer } from '../../engine/tokenizer.ts';
import { saveCheckpoint } from '../../engine/checkpoint.ts';
import { listTasks, parseSuiteSpec } from '../../tasks/index.ts';
import { sftExample, sftStep } from '../../actors/sft.ts';
import { evaluatePolicy } from '../../actors/evaluate.ts';
import { parseFlags, type Command } from './command.ts';
import { numberFlag, stringFlag } from './model-flags.ts';
import { progressBar } from '../progress.ts';

/** The architecture of the shipped models (small enough to train on 2 CPU cores in minutes). */
export function defaultModelConfig(tok: CharTokenizer, hidden = 96, layers = 3): LlamaConfig {
  return {
    vocab_size: tok.vocabSize, hidden_size: hidden, intermediate_size: Math.round((hidden * 8) / 3 / 8) * 8,
    num_hidden_layers: layers, num_attention_heads: 4, num_key_value_heads: 4, max_position_embeddings: 64,
    rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true,
    bos_token_id: tok.bosId, eos_token_id: tok.eosId, pad_token_id: tok.padId,
  };
}

interface TrainOptions { suite: string; steps: number; seed: number; lr: number; batch: number; out: string; tok: CharTokenizer; hidden: number; layers: number; decay: boolean }

async function train(name: string, opts: TrainOptions) {
  const { tok } = opts;
  const config = defaultModelConfig(tok, opts.hidden, opts.layers);
  const model = LlamaModel.init(config, opts.seed);
  const optimizer = new AdamW(model.params, { lr: opts.lr, weightDecay: 0, maxGradNorm: 1 });
  const tasks = listTasks({ suite: opts.suite, split: 'train', limit: 10_000, seed: opts.seed });
  const bar = progressBar(`pretrain ${name}`, opts.steps, ['loss']);
  let loss = 0;
  for (let s = 0; s < opts.steps; s++) {
    // Teacher: linear decay to 10% of the peak rate, so the last steps polish instead of bouncing around.
    if (opts.decay) optimizer.setLearningRate(opts.lr * (1 - (0.9 * s) / opts.steps));
    const batch = Array.from({ length: opts.batch }, (_, i) => sftExample(tok, tasks[(s * opts.batch + i) % tasks.length]!));
    loss = sftStep(model, optimizer, batch, tok.padId);
    bar.update(s + 1, { loss: loss.toFixed(3) });
  }
  bar.stop();
  const heldout = listTasks({ suite: opts.suite, split: 'heldout', limit: 256, seed: 12345 });
  const ev = evaluatePolicy({ model, tokenizer: tok, version: 0 }, heldout, { k: 1, temperature: 0, maxNewTokens: 40 });
  const dir = path.join(opts.out, name);
  await saveCheckpoint(dir, {
    config, weights: model.toWeights(), tokenizer: tok,
    generation: { max_new_tokens: 40, temperature: 1, top_k: 0, top_p: 1, do_sample: true },
  });
  console.log(`${name}: ${opts.steps} SFT steps, final loss ${loss.toFixed(3)}, held-out greedy accuracy ${(100 * ev.report.overall.accuracy).toFixed(1)}% -> ${dir}`);
  model.dispose();
}

export const pretrain: Command = {
  name: 'pretrain',
  summary: 'train the teacher (SFT on reference traces) and a weaker student; writes <out>/teacher and <out>/student',
  async run(args) {
    const { flags } = parseFlags(args, ['suite', 'out', 'teacher-steps', 'student-steps', 'seed', 'lr', 'batch', 'hidden', 'layers']);
    const suite = stringFlag(flags, 'suite') ?? 'add:1-2';
    const out = stringFlag(flags, 'out') ?? 'models';
    const seed = numberFlag(flags, 'seed', { integer: true, min: 0, max: 0xffffffff }) ?? 1;
    const lr = numberFlag(flags, 'lr', { min: 1e-6, max: 1 }) ?? 3e-3;
    const batch = numberFlag(flags, 'batch', { integer: true, min: 1, max: 4096 }) ?? 32;
    const hidden = numberFlag(flags, 'hidden', { integer: true, min: 8, max: 4096 }) ?? 96;
    const layers = numberFlag(flags, 'layers', { integer: true, min: 1, max: 64 }) ?? 3;
    // Every flag is read before anything trains: a bad one found after the teacher would have replaced it for nothing.
    const teacherSteps = numberFlag(flags, 'teacher-steps', { integer: true, min: 1, max: 1_000_000 }) ?? 1500;
    const studentSteps = numberFlag(flags, 'student-steps', { integer: true, min: 1, max: 1_000_000 }) ?? 110;
    parseSuiteSpec(suite, '--suite');
    await initBackend();
    const tok = CharTokenizer.builtin();
    const common = { suite, seed, lr, batch, out, tok, hidden, layers };
    // The shipped pair: a teacher trained to convergence (1500 steps, decayed rate; 100% held-out greedy accuracy on
    // add:1-2) and a weaker student, a short constant-rate SFT (110 steps; ~7%) that knows the format but not the sums.
    await train('teacher', { ...common, decay: true, steps: teacherSteps });
    await train('student', { ...common, decay: false, steps: studentSteps });
    return 0;
  },
};
