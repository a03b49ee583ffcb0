// Pipeline overhead: learner steps/s of a distributed run (gateway --spawn-actors: verifier, teacher, learner and
// rollout processes over NATS) against runLocalLoop (the same compute in this process, strictly on-policy), both
// measured from the 3rd to the last step.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { jetstreamManager } from '@nats-io/jetstream';
import { loadPolicy, MAX_BATCH_SEQUENCES, runLocalLoop, type Teacher } from '../../src/actors/index.ts';
import { compileRunConfig } from '../../src/config/index.ts';
import { connectNats, deleteRun } from '../../src/platform/nats/index.ts';
import { Supervisor } from '../../src/platform/process/index.ts';
import type { SpanRecord } from '../../src/platform/telemetry/index.ts';
import { readRunSpans } from '../../src/cli/local/run-report.ts';
import { benchRunConfig, benchRunId, CLI_ENTRY, sleep, tail, writeYaml, type BenchRunShape } from './actors.ts';
import { coresBetween, readProcessCpu, type CpuReading } from './process-cpu.ts';

/** Steps per second between the `from`-th step and the last one, from (step, ms) points. */
export interface StepRate {
  stepsPerSecond: number;
  /** first and last step of the measured window */
  fromStep: number;
  toStep: number;
  seconds: number;
}

export interface DistributedRun extends StepRate {
  state: string;
  /** per span name: seconds inside that span within the window / window seconds (summed over processes) */
  busy: Record<string, number>;
  accounting: Record<string, number>;
  droppedStaleTrajectories: number;
  trainedTrajectories: number;
  /** mean completion tokens per trained trajectory (learner metrics) */
  tokensPerTrajectory: number;
  /** cores each role (gateway, the actors, nats-server) used in the window, from /proc; null where it cannot be read */
  cores: Map<string, number> | null;
}

export interface LocalRun extends StepRate {
  /** CPU seconds of this process in the window / window seconds (cores the loop actually got) */
  cores: number;
  /** mean completion tokens per trajectory */
  tokensPerTrajectory: number;
}

/** Rate over the window [from-th step, last step]; steps are 1-based and sorted. */
export function windowRate(points: ReadonlyArray<{ step: number; ms: number }>, from: number): StepRate & { fromMs: number; toMs: number } {
  const sorted = [...points].sort((a, b) => a.step - b.step);
  const first = sorted.find((p) => p.step >= from);
  const last = sorted.at(-1);
  if (!first || !last || last.step <= first.step) throw new Error(`need steps ${from}..N with N > ${from}; got ${sorted.map((p) => p.step).join(',')}`);
  const seconds = (last.ms - first.ms) / 1000;
  return { stepsPerSecond: (last.step - first.step) / seconds, fromStep: first.step, toStep: last.step, seconds, fromMs: first.ms, toMs: last.ms };
}

interface RunStatusView {
  state: string;
  step: number;
  accounting: Record<string, number>;
  lastMetrics: Record<string, number>;
  error?: string;
}

/** The actors' work spans; their busy fractions show which stage bounds the step rate. */
export const STAGE_SPANS = ['rollout.generate', 'verifier.verify', 'teacher.score', 'learner.step'] as const;

/**
 * Per stage: seconds inside [fromMs, toMs] during which a process had at least one of that stage's spans open, as a
 * fraction of the window, summed over processes (so 2.0 = two processes busy all the time). Overlapping spans of one
 * process count once: a stage makes one span per trajectory, and a batch's trajectories share one compute call.
 */
export function busyFractions(spans: readonly SpanRecord[], fromMs: number, toMs: number): Record<string, number> {
  const intervals = new Map<string, Array<[number, number]>>();
  for (const sp of spans) {
    if (!(STAGE_SPANS as readonly string[]).includes(sp.name)) continue;
    const start = Math.max(sp.startUnixMs, fromMs), end = Math.min(sp.endUnixMs, toMs);
    if (end <= start) continue;
    const key = `${sp.name}\u0000${sp.pid}`;
    const list = intervals.get(key) ?? [];
    list.push([start, end]);
    intervals.set(key, list);
  }
  const out: Record<string, number> = Object.fromEntries(STAGE_SPANS.map((n) => [n, 0]));
  for (const [key, list] of intervals) {
    list.sort((x, y) => x[0] - y[0]);
    let covered = 0, curStart = -Infinity, curEnd = -Infinity;
    for (const [a, b] of list) {
      if (a > curEnd) {
        if (curEnd > curStart) covered += curEnd - curStart;
        [curStart, curEnd] = [a, b];
      } else curEnd = Math.max(curEnd, b);
    }
    if (curEnd > curStart) covered += curEnd - curStart;
    out[key.split('\u0000')[0]!]! += covered / (toMs - fromMs);
  }
  return out;
}

/** The learner's metrics.jsonl lines (first line per step) as (step, unix ms) points plus the last line. */
function learnerPoints(file: string): { points: Array<{ step: number; ms: number }>; last: Record<string, number>; tokens: number } {
  const seen = new Map<number, number>();
  let last: Record<string, number> = {};
  let tokens = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const m = JSON.parse(line) as Record<string, number | string>;
    if (m.source !== 'learner') continue;
    const step = Number(m.step);
    if (seen.has(step)) continue;
    seen.set(step, Number(m.unix_ms));
    tokens += Number(m.completion_tokens ?? 0);
    last = Object.fromEntries(Object.entries(m).filter((e): e is [string, number] => typeof e[1] === 'number'));
  }
  return { points: [...seen].map(([step, ms]) => ({ step, ms })), last, tokens };
}

/** One distributed run through `rlmesh serve gateway --spawn-actors`; onStep reports progress. */
export async function measureDistributed(shape: BenchRunShape, natsUrl: string, from: number, onStep: (step: number) => void): Promise<DistributedRun> {
  const runId = benchRunId('pipe');
  const root = mkdtempSync(path.join(tmpdir(), 'rlmesh-bench-pipeline-'));
  const runsRoot = path.join(root, 'runs');
  mkdirSync(runsRoot, { recursive: true });
  const configFile = writeYaml(path.join(root, 'run.yaml'), benchRunConfig(runId, shape));
  const logDir = path.join(root, 'logs');
  const sup = new Supervisor({ entry: CLI_ENTRY });
  try {
    const gateway = sup.start({
      label: 'gateway',
      args: ['serve', 'gateway', '--port', '0', '--spawn-actors', '--rollout-workers', String(shape.rolloutWorkers), '--config', configFile, '--run', runId, '--nats', natsUrl],
      env: { RLMESH_NATS_URL: natsUrl, RLMESH_RUNS_DIR: runsRoot },
      logDir,
    });
    const ready = await Supervisor.waitForLine(gateway, 'READY', 120_000).catch((e: unknown) => {
      throw new Error(`${String(e)}; log: ${tail(path.join(logDir, 'gateway.log'))}`);
    });
    const httpPort = Number(/http=(\d+)/.exec(ready)![1]);
    let status: RunStatusView;
    const cpu: CpuReading[] = [];
    for (;;) {
      status = (await (await fetch(`http://127.0.0.1:${httpPort}/runs/${runId}`)).json()) as RunStatusView;
      if (gateway.child.pid !== undefined) cpu.push(readProcessCpu(gateway.child.pid));
      onStep(status.step);
      if (status.state !== 'running' && status.state !== 'starting') break;
      if (gateway.child.exitCode !== null) throw new Error(`gateway exited (${gateway.child.exitCode}); log: ${tail(path.join(logDir, 'gateway.log'))}`);
      await sleep(250);
    }
    if (status.state !== 'finished') throw new Error(`distributed run ended ${status.state}: ${status.error ?? ''}; logs in ${logDir}`);
    const { points, last, tokens } = learnerPoints(path.join(runsRoot, runId, 'metrics.jsonl'));
    const rate = windowRate(points, from);
    await sup.stopAll(30_000); // flushes every actor's span file
    return {
      ...rate, state: status.state, accounting: status.accounting, busy: busyFractions(readRunSpans(path.join(runsRoot, runId)), rate.fromMs, rate.toMs),
      droppedStaleTrajectories: last.dropped_stale_total ?? 0, trainedTrajectories: last.trained_total ?? 0,
      tokensPerTrajectory: tokens / Math.max(1, last.trained_total ?? 0),
      cores: coresBetween(cpu, rate.fromMs, rate.toMs),
    };
  } finally {
    await sup.stopAll(30_000); // the gateway stops its actors first
    const nc = await connectNats({ servers: natsUrl, name: 'rlmesh-bench-pipeline' });
    await deleteRun(await jetstreamManager(nc), runId).catch(() => 0);
    await nc.close();
    if (!process.env.RLMESH_BENCH_KEEP) rmSync(root, { recursive: true, force: true });
  }
}

/** The same config and models through runLocalLoop in this process (the reference). */
export async function measureLocal(shape: BenchRunShape, from: number, onStep: (step: number) => void): Promise<LocalRun> {
  const run = compileRunConfig(benchRunConfig(benchRunId('local'), shape));
  const student = await loadPolicy(shape.studentModel);
  const teacher: Teacher = { ...(await loadPolicy(shape.teacherModel)), id: 'teacher', privileged: false };
  const points: Array<{ step: number; ms: number }> = [];
  const cpuAt = new Map<number, number>();
  const t0 = Date.now() - performance.now(); // wall clock, like the learner's unix_ms
  try {
    const totals = runLocalLoop({
      // the step's groups in batched generate calls, as the rollout workers of the distributed run sample them
      run, student, teacher, steps: shape.steps, batchRows: MAX_BATCH_SEQUENCES,
      onStep: (step) => {
        const cpu = process.cpuUsage();
        cpuAt.set(step, (cpu.user + cpu.system) / 1e6);
        points.push({ step, ms: t0 + performance.now() });
        onStep(step);
      },
    });
    const rate = windowRate(points, from);
    const cores = (cpuAt.get(rate.toStep)! - cpuAt.get(rate.fromStep)!) / rate.seconds;
    return { ...rate, cores, tokensPerTrajectory: totals.rolloutTokens / Math.max(1, totals.trajectories) };
  } finally {
    student.model.dispose();
    teacher.model.dispose();
  }
}
