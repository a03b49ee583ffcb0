// How a run config's learning varies with the seed: held-out accuracy before and after runLocalLoop (the in-process
// loop: the same compute as a distributed run, strictly on-policy) for each seed, at chosen steps, with the held-out
// set's make-up (distinct problems per difficulty: a small pool repeated weighs each of its problems more).
// Run: npm run bench:seeds -- --config examples/grpo.yaml [--seeds 0,1,2,3,4,5] [--eval-at 20,40] [--heldout 256]
//                             [--set '{"rollout":{"group_size":32},"learner":{"batch_size":128}}']
// --set merges a JSON object over the config (objects merged key by key). The held-out tasks are the config's
// (seed 0 for every run, so runs differ only by the training seed). One seed of examples/grpo.yaml takes ~30 s here.
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine/index.ts';
import { compileRunConfig, runConfigSchema } from '../src/config/index.ts';
import { loadConfigFile } from '../src/platform/config/index.ts';
import { listTasks } from '../src/tasks/index.ts';
import { evaluatePolicy, loadPolicy, maxLoopSteps, runLocalLoop } from '../src/actors/index.ts';
import { invalidField } from '../src/errors.ts';
import { progressBar } from '../src/cli/progress.ts';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'examples/grpo.yaml' },
    seeds: { type: 'string', default: '0,1,2,3,4,5' },
    'eval-at': { type: 'string' },
    heldout: { type: 'string', default: '256' },
    set: { type: 'string', default: '{}' },
  },
});

const ints = (flag: string, raw: string): number[] => raw.split(',').map((x) => {
  const n = Number(x);
  if (!Number.isInteger(n) || n < 0) throw invalidField(flag, `must be a comma-separated list of integers >= 0, got '${raw}'`);
  return n;
});

function merge(base: unknown, over: unknown): unknown {
  if (typeof base !== 'object' || base === null || typeof over !== 'object' || over === null || Array.isArray(over)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
  return out;
}

let override: unknown;
try {
  override = JSON.parse(values.set!);
} catch (e) {
  throw invalidField('--set', `not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
}
const raw = merge(await loadConfigFile(values.config!, runConfigSchema), override) as Record<string, unknown>;
const probe = compileRunConfig({ ...raw, run_id: 'seed-sweep' });
const evalAt = ints('--eval-at', values['eval-at'] ?? String(probe.config.learner.steps)).sort((a, b) => a - b);
const last = evalAt[evalAt.length - 1]!;
if (last > maxLoopSteps(probe)) throw invalidField('--eval-at', `${last} is past the config's learner.steps (${probe.config.learner.steps})`);
const seeds = ints('--seeds', values.seeds!);
const heldout = ints('--heldout', values.heldout!)[0]!;

await initBackend();
const tasks = listTasks({ suite: probe.config.tasks.suite, split: 'heldout', limit: heldout, seed: 0 });
const pool = new Map<number, Set<string>>();
for (const t of tasks) pool.set(t.difficulty, (pool.get(t.difficulty) ?? new Set()).add(t.prompt));
console.log(`seed sweep: ${values.config} with ${values.set}; ${probe.config.mode}/${probe.config.objective.name}, ${last} steps, held-out ${tasks.length} tasks of ${probe.config.tasks.suite}`);
console.log(`held-out make-up: ${[...pool].sort((a, b) => a[0] - b[0]).map(([d, s]) => `difficulty ${d}: ${tasks.filter((t) => t.difficulty === d).length} tasks, ${s.size} distinct problems`).join('; ')}`);

const bar = progressBar('seed sweep', seeds.length * last, ['seed']);
const gains: number[] = [];
const lines: string[] = [];
for (const [i, seed] of seeds.entries()) {
  const run = compileRunConfig({ ...raw, run_id: 'seed-sweep', seed });
  const student = await loadPolicy(run.config.student.model);
  const accuracy = () => evaluatePolicy(student, tasks, { k: 1, temperature: 0, maxNewTokens: run.config.rollout.sampling.max_new_tokens }).report.overall.accuracy;
  const curve: Array<[number, number]> = [[0, accuracy()]];
  runLocalLoop({
    run, student, steps: last,
    onStep: (step) => {
      bar.update(i * last + step, { seed: String(seed) });
      if (evalAt.includes(step)) curve.push([step, accuracy()]);
    },
  });
  student.model.dispose();
  const gain = 100 * (curve[curve.length - 1]![1] - curve[0]![1]);
  gains.push(gain);
  lines.push(`seed ${seed}: ${curve.map(([s, a]) => `step ${s} ${(100 * a).toFixed(1)}%`).join(', ')}; gain ${gain >= 0 ? '+' : ''}${gain.toFixed(1)} points`);
}
bar.stop();
for (const line of lines) console.log(line);
const mean = gains.reduce((a, b) => a + b, 0) / gains.length;
console.log(`gain over ${gains.length} seeds: mean ${mean >= 0 ? '+' : ''}${mean.toFixed(1)}, lowest ${Math.min(...gains).toFixed(1)}, highest ${Math.max(...gains).toFixed(1)} points`);
