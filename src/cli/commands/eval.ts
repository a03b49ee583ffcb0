// `rlmesh eval`: samples k completions per task of a suite from a checkpoint, grades every one with the verifier
// library, prints accuracy / Avg@k / pass@k per category and difficulty, and writes the report + every sample as JSON.
// Usage: npx rlmesh eval --model ckpt/tiny --tasks arithmetic --k 8 [--split heldout] [--limit 64] [--temperature 1]
//        [--max-new-tokens 64] [--batch-size 64] [--seed 0] [--out runs/eval-<timestamp>.json]
import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { evaluatePolicy, type Evaluation } from '../../actors/evaluate.ts';
import { backendInfo, initBackend } from '../../engine/index.ts';
import { RlmeshError, invalidField } from '../../errors.ts';
import { evaluateSamples, formatEvalTable, listTasks, type Task } from '../../tasks/index.ts';
import { progressBar } from '../progress.ts';
import { parseFlags, type Command } from './command.ts';
import { loadModel, numberFlag, stringFlag } from './model-flags.ts';

/** What `--out` holds. */
export interface EvalFile {
  model: string;
  tasks: string;
  split: string;
  limit: number;
  k: number;
  temperature: number;
  maxNewTokens: number;
  seed: number;
  backend: string;
  createdAt: string;
  report: Evaluation['report'];
  samples: Evaluation['samples'];
}

const FLAG_OF: Record<string, string> = { suite: '--tasks', split: '--split', limit: '--limit', seed: '--seed' };

function listEvalTasks(suite: string, split: string, limit: number, seed: number): Task[] {
  try {
    return listTasks({ suite, split, limit, seed });
  } catch (e) {
    const flag = e instanceof RlmeshError && e.field ? FLAG_OF[e.field] : undefined;
    if (flag) throw invalidField(flag, (e as Error).message.replace(/^\w+: /, ''));
    throw e;
  }
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a checkpoint: --model DIR --tasks SUITE --k K [--split heldout --limit N --temperature T --max-new-tokens N --seed S --out FILE]',
  async run(args) {
    const { flags } = parseFlags(args, ['model', 'tasks', 'k', 'split', 'limit', 'temperature', 'max-new-tokens', 'batch-size', 'seed', 'out']);
    const dir = stringFlag(flags, 'model', true);
    const suite = stringFlag(flags, 'tasks', true);
    const k = numberFlag(flags, 'k', { integer: true, min: 1, max: 1024 }) ?? 1;
    const split = stringFlag(flags, 'split') ?? 'heldout';
    const limit = numberFlag(flags, 'limit', { integer: true, min: 1, max: 10_000 }) ?? 64;
    // k = 1 defaults to greedy accuracy; k > 1 samples from the raw distribution
    const temperature = numberFlag(flags, 'temperature', { min: 0, max: 10 }) ?? (k === 1 ? 0 : 1);
    const maxNewTokens = numberFlag(flags, 'max-new-tokens', { integer: true, min: 1, max: 32_768 }) ?? 64;
    const batchSize = numberFlag(flags, 'batch-size', { integer: true, min: 1, max: 4096 }) ?? 64;
    const seed = numberFlag(flags, 'seed', { integer: true, min: 0, max: 0xffffffff }) ?? 0;
    const out = stringFlag(flags, 'out') ?? path.join('runs', `eval-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const tasks = listEvalTasks(suite, split, limit, seed);
    // Checked before sampling: a report that cannot be written would lose the whole evaluation.
    if (existsSync(out) && statSync(out).isDirectory()) throw invalidField('--out', `${out} is a folder; give a file path such as ${path.join(out, 'eval.json')}`);

    const backend = await initBackend();
    const { checkpoint, model } = await loadModel(dir);
    try {
      const { tokenizer } = checkpoint;
      const context = model.config.max_position_embeddings;
      const longest = Math.max(...tasks.map((t) => tokenizer.encode(t.prompt, { bos: true }).length));
      if (longest >= context) {
        throw invalidField('--tasks', `the longest prompt is ${longest} tokens; the model's context (${context}) leaves no room to answer`);
      }
      const bar = progressBar(`eval ${suite} (${split})`, tasks.length * k);
      let evaluation: Evaluation;
      try {
        evaluation = evaluatePolicy({ model, tokenizer, version: 0 }, tasks, {
          k, temperature, maxNewTokens, batchSize, seed, onProgress: (done) => bar.update(done),
        });
      } finally {
        bar.stop();
      }
      const ks = [...new Set([1, k])].sort((a, b) => a - b);
      const report = evaluateSamples(evaluation.samples, ks);
      console.log(`rlmesh eval: ${dir} on ${suite} (${split}), ${tasks.length} tasks x k=${k}, temperature ${temperature}, max ${maxNewTokens} new tokens, seed ${seed}, backend ${backend}`);
      console.log(formatEvalTable(report));
      const file: EvalFile = {
        model: dir, tasks: suite, split, limit, k, temperature, maxNewTokens, seed,
        backend: backendInfo()?.name ?? backend, createdAt: new Date().toISOString(), report, samples: evaluation.samples,
      };
      await mkdir(path.dirname(path.resolve(out)), { recursive: true });
      await writeFile(out, `${JSON.stringify(file, null, 1)}\n`);
      console.log(`wrote ${out}`);
      return 0;
    } finally {
      model.dispose();
    }
  },
};
