// Held-out evaluation of a policy: sample k completions per task, grade them, and report accuracy / pass@k.
import { generate } from '../engine/index.ts';
import { evaluateSamples, verifyCompletion, type EvalReport, type GradedSample, type Task } from '../tasks/index.ts';
import { encodePrompt, hashSeed, type Policy } from './policy.ts';

export interface EvaluateOptions {
  /** Samples per task; k = 1 with temperature 0 is greedy accuracy. */
  k: number;
  temperature: number;
  maxNewTokens: number;
  /** Prompts per generate() call. */
  batchSize?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface Evaluation {
  report: EvalReport;
  samples: Array<GradedSample & { completion: string }>;
  /** Mean per-token predictive entropy over every generated token, nats (the entropy-gated length curriculum's gate). */
  meanEntropy: number;
}

/** Generates and grades every task (all of them: nothing is skipped). */
export function evaluatePolicy(policy: Policy, tasks: readonly Task[], opts: EvaluateOptions): Evaluation {
  const { model, tokenizer } = policy;
  const rows = tasks.flatMap((task) => Array.from({ length: opts.k }, (_, i) => ({ task, i })));
  const batch = opts.batchSize ?? 64;
  const samples: Evaluation['samples'] = [];
  let entropy = 0;
  let tokens = 0;
  for (let start = 0; start < rows.length; start += batch) {
    const chunk = rows.slice(start, start + batch);
    const prompts = chunk.map((r) => encodePrompt(tokenizer, r.task.prompt));
    const longest = Math.max(...prompts.map((p) => p.length));
    const seqs = generate(model, prompts, {
      maxNewTokens: Math.min(opts.maxNewTokens, model.config.max_position_embeddings - longest),
      temperature: opts.temperature,
      seed: hashSeed(`eval/${opts.seed ?? 0}/${start}`),
    });
    seqs.forEach((seq, j) => {
      const { task } = chunk[j]!;
      for (const h of seq.entropies) entropy += h;
      tokens += seq.entropies.length;
      const completion = tokenizer.decode(seq.tokens, { skipSpecial: true });
      const r = verifyCompletion(task, completion, undefined, seq.tokens.length);
      samples.push({
        taskId: task.taskId, category: task.category, difficulty: task.difficulty,
        correct: r.correct, length: seq.tokens.length, reward: r.total, completion,
      });
    });
    opts.onProgress?.(Math.min(start + batch, rows.length), rows.length);
  }
  return { report: evaluateSamples(samples, [opts.k]), samples, meanEntropy: tokens > 0 ? entropy / tokens : 0 };
}
