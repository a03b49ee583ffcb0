// `rlmesh compare --configs A B --target ACC`: sample efficiency of run configs (e.g. OPD vs GRPO from the same
// student): learner steps and rollout tokens each needs to reach a held-out accuracy, and their ratio.
// Runs each config with the in-process loop (the same compute as a distributed run, strictly on-policy).
import { existsSync } from 'node:fs';
import { initBackend } from '../../engine/index.ts';
import { compileRunConfig, runConfigSchema, type CompiledRunConfig } from '../../config/index.ts';
import { loadConfigFile } from '../../platform/config/index.ts';
import { listTasks } from '../../tasks/index.ts';
import { evaluatePolicy, loadPolicy, maxLoopSteps, runLocalLoop, type Teacher } from '../../actors/index.ts';
import { invalidField } from '../../errors.ts';
import { progressBar } from '../progress.ts';
import { parseFlags, type Command } from './command.ts';
import { numberFlag } from './model-flags.ts';

export interface CompareRow {
  config: string;
  mode: string;
  objective: string;
  reached: boolean;
  steps: number;
  /** the steps this config could run: --max-steps, or its learner.steps when its learning rate decays to 0 there */
  maxSteps: number;
  rolloutTokens: number;
  accuracyCurve: Array<{ step: number; accuracy: number }>;
}

/**
 * A compare config, read and compiled, with the model folders it names checked: every config is checked before any
 * trains (a bad second file must not cost the first one's run).
 */
export async function loadCompareConfig(configPath: string): Promise<CompiledRunConfig> {
  const run = compileRunConfig({ ...((await loadConfigFile(configPath, runConfigSchema)) as Record<string, unknown>), run_id: 'compare' });
  const { config } = run;
  const models: Array<[string, string]> = [['student.model', config.student.model]];
  if (config.teacher?.kind === 'separate') models.push(['teacher.model', config.teacher.model]);
  for (const [field, dir] of models) if (!existsSync(dir)) throw invalidField(field, `${configPath}: model folder ${dir} does not exist`);
  return run;
}

export async function measureToTarget(configPath: string, run: CompiledRunConfig, target: number, maxSteps: number, evalEvery: number, heldout: number): Promise<CompareRow> {
  const cfg = run.config;
  const student = await loadPolicy(cfg.student.model);
  const teacher: Teacher | undefined = cfg.teacher
    ? { ...(await loadPolicy(cfg.teacher.kind === 'privileged-self' ? cfg.student.model : cfg.teacher.model)), id: 'teacher', privileged: cfg.teacher.kind === 'privileged-self' }
    : undefined;
  const tasks = listTasks({ suite: cfg.tasks.suite, split: 'heldout', limit: heldout, seed: cfg.seed });
  const accuracy = () => evaluatePolicy(student, tasks, { k: 1, temperature: 0, maxNewTokens: cfg.rollout.sampling.max_new_tokens }).report.overall.accuracy;
  const curve = [{ step: 0, accuracy: accuracy() }];
  const limit = Math.min(maxSteps, maxLoopSteps(run));
  const bar = progressBar(`compare ${cfg.mode}/${cfg.objective.name}`, limit, ['acc']);
  let reached = curve[0]!.accuracy >= target;
  let at = { steps: 0, rolloutTokens: 0 };
  if (!reached) {
    runLocalLoop({
      run, student, teacher, steps: limit,
      onStep: (step, _m, totals) => {
        bar.update(step, { acc: curve[curve.length - 1]!.accuracy.toFixed(3) });
        if (step % evalEvery !== 0) return false;
        const acc = accuracy();
        curve.push({ step, accuracy: acc });
        if (acc >= target) { reached = true; at = { steps: step, rolloutTokens: totals.rolloutTokens }; return true; }
        at = { steps: step, rolloutTokens: totals.rolloutTokens };
        return false;
      },
    });
  }
  bar.stop();
  return { config: configPath, mode: cfg.mode, objective: cfg.objective.name, reached, ...at, maxSteps: limit, accuracyCurve: curve };
}

export const compare: Command = {
  name: 'compare',
  summary: 'learner steps and rollout tokens each config needs to reach a held-out accuracy (OPD vs GRPO efficiency)',
  async run(args) {
    const { flags, positional } = parseFlags(args, ['configs', 'target', 'max-steps', 'eval-every', 'heldout'], ['json']);
    const first = flags.configs;
    const configs = [...(Array.isArray(first) ? first : typeof first === 'string' ? [first] : []), ...positional];
    if (configs.length < 2) throw invalidField('--configs', 'give at least two config files, e.g. --configs examples/opd.yaml examples/grpo.yaml');
    const target = numberFlag(flags, 'target', { min: 0, max: 1 });
    if (target === undefined) throw invalidField('--target', 'is required (held-out accuracy in [0, 1])');
    const maxSteps = numberFlag(flags, 'max-steps', { integer: true, min: 1, max: 100_000 }) ?? 200;
    const evalEvery = numberFlag(flags, 'eval-every', { integer: true, min: 1, max: 100_000 }) ?? 10;
    const heldout = numberFlag(flags, 'heldout', { integer: true, min: 1, max: 10_000 }) ?? 128;
    const runs: CompiledRunConfig[] = [];
    for (const c of configs) runs.push(await loadCompareConfig(c));
    await initBackend();
    const rows: CompareRow[] = [];
    for (const [i, c] of configs.entries()) rows.push(await measureToTarget(c, runs[i]!, target, maxSteps, evalEvery, heldout));
    if (flags.json) { console.log(JSON.stringify({ target, rows }, null, 2)); return 0; }
    console.log(`target held-out accuracy ${target}`);
    console.log('config                          mode      objective        reached  steps  rollout_tokens  final_acc');
    for (const r of rows) {
      const last = r.accuracyCurve[r.accuracyCurve.length - 1]!.accuracy;
      console.log(`${r.config.padEnd(32)}${r.mode.padEnd(10)}${r.objective.padEnd(17)}${String(r.reached).padEnd(9)}${String(r.steps).padEnd(7)}${String(r.rolloutTokens).padEnd(16)}${last.toFixed(3)}`);
    }
    for (const r of rows) {
      if (!r.reached && r.maxSteps < maxSteps) console.log(`${r.config}: stopped at its learner.steps (${r.maxSteps}), where its learning rate reaches 0`);
    }
    const [a, b] = rows;
    const name = (r: CompareRow) => `${r.mode}/${r.objective}`;
    if (a!.reached && b!.reached && a!.steps > 0 && b!.steps > 0) {
      // > 1: the first config reaches the target with fewer samples than the second.
      console.log(`sample efficiency ${name(a!)} vs ${name(b!)} (second / first to reach ${target}): learner steps x${(b!.steps / a!.steps).toFixed(2)}, rollout tokens x${(b!.rolloutTokens / Math.max(1, a!.rolloutTokens)).toFixed(2)}`);
    } else if (a!.reached && !b!.reached && a!.steps > 0) {
      console.log(`sample efficiency ${name(a!)} vs ${name(b!)}: learner steps > x${(b!.steps / a!.steps).toFixed(2)}, rollout tokens > x${(b!.rolloutTokens / Math.max(1, a!.rolloutTokens)).toFixed(2)} (the second did not reach ${target} in ${b!.steps} steps)`);
    } else {
      console.log(`sample efficiency: not defined (${rows.filter((r) => !r.reached || r.steps === 0).map(name).join(', ')} did not reach ${target} within --max-steps or their learner.steps, or started at it)`);
    }
    return 0;
  },
};
