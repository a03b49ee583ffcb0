// Pipeline bench: (1) learner steps/s of a distributed OPD run vs the in-process loop, (2) rollout tokens/s with
// 2 workers vs 1, (3) weight publish -> all rollout workers serving, vs raw core-NATS transfer of the same bytes.
// Every figure is a ratio against a reference measured in the same run; results are appended to PIPELINE-RESULTS.md.
// Run: npm run bench:pipeline [-- --quick] [--only overhead,scaling,weights] [--rollout-workers 1,2] [--max-in-flight 4,8]
// [--overhead-rounds 3] (the overhead runs take every combination of --rollout-workers and --max-in-flight, once per round)
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine/index.ts';
import { MAX_BATCH_SEQUENCES } from '../src/actors/index.ts';
import { ErrorCategory, invalidField, RlmeshError } from '../src/errors.ts';
import { ensureNats } from '../src/platform/process/index.ts';
import { progressBar } from '../src/cli/progress.ts';
import { cpuModel, gitCommit, type BenchRunShape } from './pipeline/actors.ts';
import { measureDistributed, measureLocal, type DistributedRun, type LocalRun } from './pipeline/overhead.ts';
import { measureEngine, measureRollout } from './pipeline/rollout-scaling.ts';
import { measureWeightSync, WEIGHT_SIZES, type SyncResult, type SyncSample } from './pipeline/weight-sync.ts';

const TARGET_OVERHEAD = 0.85;
const TARGET_SCALING = 1.6;
/** the rate window starts at this learner step (actors start, JIT and the first weights are behind it) */
const FROM_STEP = 3;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: 'overhead,scaling,weights' },
    steps: { type: 'string' },
    groups: { type: 'string' },
    repeats: { type: 'string' },
    'overhead-rounds': { type: 'string' },
    'rollout-workers': { type: 'string', default: '1,2' },
    'max-in-flight': { type: 'string', default: '4,8' },
  },
});
const quick = values.quick;
const only = new Set(values.only.split(',').map((s) => s.trim()));
const shape: BenchRunShape = {
  steps: Number(values.steps ?? (quick ? 7 : 30)),
  batchSize: 16,
  groupSize: 4,
  maxNewTokens: 32,
  maxInFlight: 4, // per distributed run: IN_FLIGHT
  rolloutWorkers: 1, // per distributed run: ROLLOUT_WORKERS
  studentModel: 'models/student',
  teacherModel: 'models/teacher',
};
/** task groups in flight per distributed run: 4 = one learner batch (no overlap, nothing stale), 8 = two */
const IN_FLIGHT = values['max-in-flight'].split(',').map(Number);
/** rollout processes per distributed run: 1 leaves the second core to the learner, 2 split each step's groups */
const ROLLOUT_WORKERS = values['rollout-workers'].split(',').map(Number);
const GROUPS = Number(values.groups ?? (quick ? 16 : 256));
const REPEATS = Number(values.repeats ?? (quick ? 1 : 3));
/** rounds of the overhead runs (each: the in-process loop, then every combination once); the median ratio is reported */
const OVERHEAD_ROUNDS = Number(values['overhead-rounds'] ?? (quick ? 1 : 3));
const SYNC_WORKERS = 2;
/** Flags as numbers a run can use; a bad one is refused naming the flag. */
function checkFlags(): void {
  const checks: Array<[string, number]> = [
    ['--groups', GROUPS], ['--repeats', REPEATS], ['--overhead-rounds', OVERHEAD_ROUNDS], ...ROLLOUT_WORKERS.map((w): [string, number] => ['--rollout-workers', w]), ...IN_FLIGHT.map((m): [string, number] => ['--max-in-flight', m]),
  ];
  for (const [flag, v] of checks) {
    if (!Number.isInteger(v) || v < 1) throw invalidField(flag, `must be a positive integer${flag === '--max-in-flight' || flag === '--rollout-workers' ? ' (a comma-separated list)' : ''}, got ${String(v)}`);
  }
  if (!Number.isInteger(shape.steps) || shape.steps <= FROM_STEP) throw invalidField('--steps', `must be an integer > ${FROM_STEP} (the rate window starts at step ${FROM_STEP}), got ${shape.steps}`);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'BELOW TARGET');

async function main(): Promise<void> {
  checkFlags();
  const log = (m: string) => process.stderr.write(`bench:pipeline: ${m}\n`);
  const backend = await initBackend(undefined, () => {});
  const loadBefore = os.loadavg()[0]!;
  const nats = await ensureNats(process.env.RLMESH_NATS_URL ?? 'nats://127.0.0.1:4222', log);
  const total = (only.has('overhead') ? (1 + OVERHEAD_ROUNDS * (1 + IN_FLIGHT.length * ROLLOUT_WORKERS.length)) * shape.steps : 0) + (only.has('scaling') ? 2 * GROUPS : 0) + (only.has('weights') ? WEIGHT_SIZES.length * REPEATS : 0);
  const bar = progressBar('bench:pipeline', total, ['phase']);
  let base = 0;
  const phase = (name: string, units: number) => {
    const start = base;
    base += units;
    bar.update(start, { phase: name });
    return (done: number) => bar.update(start + Math.min(done, units), { phase: name });
  };
  const lines: string[] = [];
  const out = (l: string) => lines.push(l);
  try {
    if (only.has('overhead')) {
      // Rounds: the in-process reference, then one distributed run of each combination; a last in-process run closes
      // the series. The reference is the median of the in-process runs (their spread shows how much the machine's
      // load moved meanwhile); each combination's ratio is the median of its rounds (single runs vary by +-0.05).
      const combos = ROLLOUT_WORKERS.flatMap((w) => IN_FLIGHT.map((m) => ({ ...shape, rolloutWorkers: w, maxInFlight: m })));
      const locals: LocalRun[] = [];
      const dists: DistributedRun[][] = combos.map(() => []);
      for (let round = 0; round < OVERHEAD_ROUNDS; round++) {
        locals.push(await measureLocal(shape, FROM_STEP, phase('in-process loop', shape.steps)));
        for (const [i, c] of combos.entries()) {
          dists[i]!.push(await measureDistributed(c, nats.url, FROM_STEP, phase(`distributed, ${c.rolloutWorkers} rollout, ${c.maxInFlight} in flight, round ${round + 1}`, shape.steps)));
        }
      }
      locals.push(await measureLocal(shape, FROM_STEP, phase('in-process loop', shape.steps)));
      const reference = median(locals.map((l) => l.stepsPerSecond));
      out(`1. pipeline overhead (OPD, batch ${shape.batchSize} = ${shape.batchSize / shape.groupSize} groups of ${shape.groupSize}, max_new_tokens ${shape.maxNewTokens}, ${shape.steps} steps, rate from step ${FROM_STEP} to the last; ${OVERHEAD_ROUNDS} round${OVERHEAD_ROUNDS > 1 ? 's' : ''})`);
      for (const [i, l] of locals.entries()) {
        out(`   in-process runLocalLoop (run ${i + 1}): ${f2(l.stepsPerSecond)} steps/s (steps ${l.fromStep}-${l.toStep} in ${f1(l.seconds)} s; ${f1(l.tokensPerTrajectory)} completion tokens/trajectory; got ${f2(l.cores)} cores)`);
      }
      out(`   reference (median of the in-process runs): ${f2(reference)} steps/s`);
      combos.forEach((c, i) => {
        const runs = dists[i]!;
        const ratios = runs.map((d) => d.stepsPerSecond / reference);
        const ratio = median(ratios);
        out(`   distributed, max_in_flight ${c.maxInFlight} groups (gateway --spawn-actors: verifier, teacher, learner, ${c.rolloutWorkers} rollout): ${runs.map((d) => f2(d.stepsPerSecond)).join(' / ')} steps/s (${f1(median(runs.map((d) => d.tokensPerTrajectory)))} completion tokens/trajectory)`);
        out(`     busy (span time in the window / window, summed over processes; median of the rounds): ${Object.keys(runs[0]!.busy).map((k) => `${k} ${f2(median(runs.map((d) => d.busy[k] ?? 0)))}`).join(', ')}`);
        const withCores = runs.filter((d) => d.cores !== null);
        if (withCores.length > 0) {
          // What the same steps cost in cores: the in-process loop does the compute alone on about one core.
          const roles = [...new Set(withCores.flatMap((d) => [...d.cores!.keys()]))].sort();
          const coresOf = (d: DistributedRun) => [...d.cores!.values()].reduce((a, b) => a + b, 0);
          const total = median(withCores.map(coresOf));
          const perStep = median(withCores.map((d) => coresOf(d) / d.stepsPerSecond));
          const localPerStep = median(locals.map((l) => l.cores / l.stepsPerSecond));
          out(`     cores in the window (CPU-seconds / window from /proc, median of the rounds): ${roles.map((r) => `${r} ${f2(median(withCores.map((d) => d.cores!.get(r) ?? 0)))}`).join(', ')}; total ${f2(total)}`);
          out(`     CPU per learner step: ${f1(perStep * 1000)} ms distributed vs ${f1(localPerStep * 1000)} ms in-process (${f2(perStep / localPerStep)}x)`);
        }
        const stale = runs.reduce((a, d) => a + d.droppedStaleTrajectories, 0);
        const seen = runs.reduce((a, d) => a + d.trainedTrajectories + d.droppedStaleTrajectories, 0);
        out(`     dropped stale: ${stale} of ${seen} trajectories in all rounds; groups dispatched ${runs.map((d) => d.accounting.dispatched ?? 0).join(' / ')}, trained ${runs.map((d) => d.accounting.completed ?? 0).join(' / ')}`);
        out(`     ratio distributed / in-process: ${f2(ratio)} (rounds ${ratios.map(f2).join(' / ')}; target >= ${TARGET_OVERHEAD}: ${verdict(ratio >= TARGET_OVERHEAD)})`);
      });
    }
    if (only.has('scaling')) {
      const opts = { groups: GROUPS, groupSize: 4, maxNewTokens: shape.maxNewTokens, natsUrl: nats.url, shape };
      const one = await measureRollout({ ...opts, workers: 1, onGroup: phase('rollout x1', GROUPS) });
      const two = await measureRollout({ ...opts, workers: 2, onGroup: phase('rollout x2', GROUPS) });
      // The same batched generate calls in bare processes (half the timed groups' calls each way): what the machine
      // gives two samplers at once, without NATS or publishing.
      const engineCalls = Math.max(2, Math.round(GROUPS * 4 / MAX_BATCH_SEQUENCES / 2));
      const engine1 = await measureEngine(1, engineCalls, shape.maxNewTokens);
      const engine2 = await measureEngine(2, engineCalls, shape.maxNewTokens);
      const ratio = two.tokensPerSecond / one.tokensPerSecond;
      out(`2. rollout scaling (${GROUPS} groups of 4, max_new_tokens ${shape.maxNewTokens}, models/student; tasks published -> all trajectories on the rollouts stream; ${os.availableParallelism()} cores on the machine)`);
      for (const r of [one, two]) {
        out(`   ${r.workers} worker${r.workers > 1 ? 's' : ' '}: ${Math.round(r.tokensPerSecond)} tokens/s (${r.tokens} tokens, ${r.trajectories} trajectories in ${f2(r.seconds)} s; worker counters ${r.counterTokens} tokens; groups per worker ${r.groupsPerWorker.join('/')}; sequences per generate call ${r.rowsPerCallPerWorker.map(f1).join('/')}; workers got ${f2(r.cores)} cores (idle: ${r.idleCores.toFixed(3)}), ${Math.round(r.tokensPerCpuSecond)} tokens per worker CPU-second; load average ${f1(r.load[0])} -> ${f1(r.load[1])})`);
      }
      out(`   ratio 2 workers / 1: ${f2(ratio)}x (target >= ${TARGET_SCALING}: ${verdict(ratio >= TARGET_SCALING)}); cores obtained 2 / 1: ${f2(two.cores / one.cores)}x, tokens per worker CPU-second 2 / 1: ${f2(two.tokensPerCpuSecond / one.tokensPerCpuSecond)}x`);
      for (const e of [engine1, engine2]) {
        out(`   bare engine, ${e.processes} process${e.processes > 1 ? 'es' : '  '} x ${engineCalls} generate calls of ${MAX_BATCH_SEQUENCES} rows: ${Math.round(e.tokensPerSecond)} tokens/s (${e.tokens} tokens in ${f2(e.seconds)} s; got ${f2(e.cores)} cores, ${Math.round(e.tokensPerCpuSecond)} tokens per CPU-second)`);
      }
      out(`   bare engine 2 / 1: tokens/s ${f2(engine2.tokensPerSecond / engine1.tokensPerSecond)}x (same calls per process), cores ${f2(engine2.cores / engine1.cores)}x, tokens per CPU-second ${f2(engine2.tokensPerCpuSecond / engine1.tokensPerCpuSecond)}x; workers / bare engine tokens per CPU-second: 1 worker ${f2(one.tokensPerCpuSecond / engine1.tokensPerCpuSecond)}, 2 workers ${f2(two.tokensPerCpuSecond / engine2.tokensPerCpuSecond)}`);
    }
    if (only.has('weights')) {
      const results: SyncResult[] = [];
      for (const size of WEIGHT_SIZES) {
        const onSample = phase(`weights ${size.name}`, REPEATS);
        let n = 0;
        results.push(await measureWeightSync({ size, workers: SYNC_WORKERS, repeats: REPEATS, natsUrl: nats.url, shape, onSample: () => onSample(++n) }));
      }
      out(`3. weight publish -> ${SYNC_WORKERS} rollout workers serving the version (GetPolicy), median of ${REPEATS} version${REPEATS > 1 ? 's' : ''}`);
      out('   size  params      bytes   put ms  announce->serving ms  (worker swap ms)  publish->serving ms  raw core-NATS ms  ratio publish->serving / raw');
      for (const r of results) {
        const m = (k: Exclude<keyof SyncSample, 'version'>) => median(r.samples.map((s) => s[k]));
        out(`   ${r.size.name.padEnd(4)}  ${String(r.parameters).padStart(9)}  ${String(r.bytes).padStart(9)}  ${f1(m('putMs')).padStart(7)}  ${f1(m('announceToServingMs')).padStart(20)}  ${f1(m('workerSwapMs')).padStart(16)}  ${f1(m('totalMs')).padStart(19)}  ${f1(m('rawNatsMs')).padStart(16)}  ${f1(m('totalMs') / m('rawNatsMs')).padStart(6)}`);
      }
      out(`   (raw core-NATS: the same bytes as 1 MiB messages from this process to ${SYNC_WORKERS} subscriber connections; worker swap: object-store get + sha256 + decode + loadWeights, slowest worker, from its log)`);
    }
  } finally {
    bar.stop();
    await nats.stop();
  }
  const header = `## ${new Date().toISOString()} commit ${gitCommit()}${quick ? ' (--quick)' : ''}\n\nCPU ${cpuModel()}; node ${process.version}; backend ${backend}; NATS ${nats.url}${nats.spawned ? ' (spawned)' : ''}; 1-min load average ${f1(loadBefore)} at start, ${f1(os.loadavg()[0]!)} at end (other work on the machine shares its cores)\n`;
  const text = `${header}\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n`;
  console.log(text);
  const results = path.join(path.dirname(fileURLToPath(import.meta.url)), 'PIPELINE-RESULTS.md');
  if (!existsSync(results)) writeFileSync(results, '# bench:pipeline results (appended by `npm run bench:pipeline`)\n\n');
  appendFileSync(results, `${text}\n`);
}

await main().catch((e: unknown) => {
  process.stderr.write(`bench:pipeline: ${e instanceof RlmeshError ? e.message : e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = e instanceof RlmeshError && e.category === ErrorCategory.config ? 2 : 1;
});
