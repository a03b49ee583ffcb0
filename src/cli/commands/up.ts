// `rlmesh up` (what `npm start` runs): the embedded default run. Starts (or finds) NATS, launches the gateway in
// local mode (--spawn-actors: it spawns the verifier, teacher, learner and N rollout workers as separate processes),
// runs the configured job with a progress bar, evaluates the student on held-out tasks before and after, writes
// runs/<id>/ (summary.md with plots), stops everything it started and prints one RESULT line.
//   npm start -- --config examples/grpo.yaml --rollout-workers 2
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { initBackend } from '../../engine/index.ts';
import { compileRunConfig, runConfigSchema, type CompiledRunConfig } from '../../config/index.ts';
import { loadConfigFile } from '../../platform/config/index.ts';
import { listTasks } from '../../tasks/index.ts';
import { evaluatePolicy, loadPolicy } from '../../actors/index.ts';
import { ensureNats, Supervisor } from '../../platform/process/index.ts';
import { readRunSpans, traceStats, writeSummary } from '../local/run-report.ts';
import { progressBar } from '../progress.ts';
import { parseFlags, type Command } from './command.ts';
import { numberFlag, stringFlag } from './model-flags.ts';

const DEFAULT_CONFIG = 'examples/opd.yaml';
const CLI_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.ts');

async function heldoutAccuracy(modelDir: string, run: CompiledRunConfig, label: string): Promise<number> {
  const cfg = run.config;
  const tasks = listTasks({ suite: cfg.tasks.suite, split: 'heldout', limit: cfg.eval.heldout_size, seed: cfg.seed });
  const policy = await loadPolicy(modelDir);
  const bar = progressBar(`eval ${label}`, tasks.length);
  const ev = evaluatePolicy(policy, tasks, { k: 1, temperature: 0, maxNewTokens: cfg.rollout.sampling.max_new_tokens, onProgress: (d) => bar.update(d) });
  bar.stop();
  policy.model.dispose();
  return ev.report.overall.accuracy;
}

export const up: Command = {
  name: 'up',
  summary: 'run a job locally end to end (default: OPD on arithmetic); starts NATS and every actor it needs',
  async run(args) {
    const { flags } = parseFlags(args, ['config', 'rollout-workers', 'nats', 'run', 'steps']);
    const configPath = stringFlag(flags, 'config') ?? DEFAULT_CONFIG;
    const raw = (await loadConfigFile(configPath, runConfigSchema)) as Record<string, unknown>;
    const runId = stringFlag(flags, 'run') ?? `${String(raw.mode ?? 'run')}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`.replace(/[^A-Za-z0-9_-]/g, '-');
    const steps = numberFlag(flags, 'steps', { integer: true, min: 1 });
    const resolved = { ...raw, run_id: runId, ...(steps ? { learner: { ...(raw.learner as object), steps } } : {}) };
    const run = compileRunConfig(resolved);
    const cfg = run.config;
    const workers = numberFlag(flags, 'rollout-workers', { integer: true, min: 1, max: 64 }) ?? cfg.rollout.workers;
    const log = (m: string) => process.stderr.write(`rlmesh: ${m}\n`);
    const t0 = Date.now();

    await initBackend();
    // The models load (and are scored) before the run folder exists: a missing model leaves no folder behind.
    const studentBefore = await heldoutAccuracy(cfg.student.model, run, 'student (before)');
    const teacherAcc = cfg.teacher && cfg.teacher.kind === 'separate' ? await heldoutAccuracy(cfg.teacher.model, run, 'teacher') : null;
    const dir = path.resolve('runs', runId);
    mkdirSync(dir, { recursive: true });
    const runConfigFile = path.join(dir, 'run.yaml');
    writeFileSync(runConfigFile, YAML.stringify(resolved));

    const nats = await ensureNats(stringFlag(flags, 'nats') ?? process.env.RLMESH_NATS_URL ?? 'nats://127.0.0.1:4222', log);
    const sup = new Supervisor({ entry: CLI_ENTRY });
    const env = { RLMESH_NATS_URL: nats.url, RLMESH_RUNS_DIR: path.resolve('runs') };
    const common = ['--config', runConfigFile, '--run', runId, '--nats', nats.url];
    const spanEnv = (label: string) => ({ ...env, RLMESH_SPAN_FILE: path.join(dir, 'spans', `${label}.jsonl`) });
    const logDir = path.join(dir, 'logs');
    try {
      const gateway = sup.start({
        label: 'gateway', args: ['serve', 'gateway', '--port', '0', '--spawn-actors', '--rollout-workers', String(workers), ...common],
        env: spanEnv('gateway'), logDir,
      });
      const gwLine = await Supervisor.waitForLine(gateway, 'READY', 60_000);
      const httpPort = Number(/http=(\d+)/.exec(gwLine)![1]);
      log(`run ${runId}: gateway http://127.0.0.1:${httpPort} (dashboard) spawned the actors; logs in ${logDir}`);

      const bar = progressBar(`${cfg.mode} ${cfg.objective.name}`, cfg.learner.steps, ['acc', 'rkl', 'ent', 'tok/s']);
      let status: { state: string; step: number; lastMetrics: Record<string, number>; accounting: Record<string, number>; error?: string };
      for (;;) {
        status = await (await fetch(`http://127.0.0.1:${httpPort}/runs/${runId}`)).json() as typeof status;
        const m = status.lastMetrics;
        bar.update(status.step, { acc: (m.accuracy ?? 0).toFixed(2), rkl: (m.reverse_kl ?? 0).toFixed(3), ent: (m.entropy ?? 0).toFixed(2), 'tok/s': (m.tokens_per_s ?? 0).toFixed(0) });
        if (status.state !== 'running' && status.state !== 'starting') break;
        if (gateway.child.exitCode !== null) throw new Error(`gateway exited with code ${gateway.child.exitCode}; see ${path.join(logDir, 'gateway.log')}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      bar.stop();
      if (status.state === 'failed') log(`run failed: ${status.error ?? 'unknown'}`);
      await sup.stopAll(30_000); // the gateway stops its actors first
      const studentAfter = await heldoutAccuracy(path.join(dir, 'checkpoints', 'latest'), run, 'student (after)');
      const trace = traceStats(readRunSpans(dir));
      writeSummary(dir, {
        runId, mode: cfg.mode, objective: cfg.objective.name, steps: status.step, studentBefore, studentAfter, teacher: teacherAcc,
        heldoutTasks: cfg.eval.heldout_size, wallSeconds: (Date.now() - t0) / 1000, trace, accounting: status.accounting, lastMetrics: status.lastMetrics,
      });
      log(`wrote ${path.join(dir, 'summary.md')}`);
      console.log(`RESULT mode=${cfg.mode} steps=${status.step} student_before=${studentBefore.toFixed(3)} student_after=${studentAfter.toFixed(3)} teacher=${teacherAcc === null ? 'none' : teacherAcc.toFixed(3)} trace_processes=${trace.maxProcesses}`);
      return status.state === 'finished' ? 0 : 1;
    } finally {
      await sup.stopAll();
      await nats.stop();
    }
  },
};
