// Rollout scaling: completion tokens/s of N `rlmesh serve rollout` processes draining one tasks stream, from the
// first RolloutTask published until every trajectory is on the rollouts stream (rollout-bound: nothing consumes
// rollouts). Groups are seeded by their dispatch id, so every worker count samples the same tokens.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { RolloutTask, TrajectoryBatch } from '../../src/generated/rlmesh/v1/common.ts';
import { connectNats, countTrajectories, deleteRun, provisionRun, publishProto, runNames } from '../../src/platform/nats/index.ts';
import { Supervisor } from '../../src/platform/process/index.ts';
import { listTasks, toTaskSpec } from '../../src/tasks/index.ts';
import { MAX_BATCH_SEQUENCES } from '../../src/actors/index.ts';
import { benchRunConfig, benchRunId, CLI_ENTRY, scrapeMetric, serveActor, sleep, writeYaml, type BenchRunShape, type ServedActor } from './actors.ts';

export interface RolloutRate {
  workers: number;
  groups: number;
  trajectories: number;
  /** completion tokens of the timed trajectories, decoded from the rollouts stream */
  tokens: number;
  /** the same count from the workers' rlmesh_rollout_tokens_total counters */
  counterTokens: number;
  seconds: number;
  tokensPerSecond: number;
  /** the workers' CPU seconds in the timed window / window seconds (cores they actually got) */
  cores: number;
  /** tokens per CPU-second of the workers (their efficiency, independent of how many cores they got) */
  tokensPerCpuSecond: number;
  /** timed groups each worker sampled */
  groupsPerWorker: number[];
  /** mean sequences (rows) per generate call, per worker, in the timed window */
  rowsPerCallPerWorker: number[];
  /** 1-min load average when the timed window started and ended */
  load: [number, number];
  /** the workers' CPU use with nothing to do (summed over workers), cores */
  idleCores: number;
}

const IDLE_MS = 3000;
/** generate calls each worker makes before the timed window */
const WARM_CALLS = 2;

export interface ScalingOptions {
  workers: number;
  groups: number;
  groupSize: number;
  maxNewTokens: number;
  natsUrl: string;
  shape: BenchRunShape;
  onGroup: (done: number) => void;
}

function tasksFor(runId: string, prefix: string, n: number, groupSize: number, maxNewTokens: number): RolloutTask[] {
  return listTasks({ suite: 'add:1-2', split: 'train', limit: n, seed: 7 }).map((t, i) => ({
    runId, dispatchId: `${prefix}-g${i}`, task: toTaskSpec(t) as RolloutTask['task'], groupSize,
    sampling: { temperature: 1.0, topK: 0, topP: 1.0, maxNewTokens, stopTokenIds: [], seed: 0 },
    minPolicyVersion: 0, dispatchIndex: i,
  }));
}

/**
 * Waits until the stream's messages from `fromSeq` on hold `count` trajectories (each message is a TrajectoryBatch of
 * one generate call); returns the sequence after the last message read.
 */
async function waitForTrajectories(jsm: JetStreamManager, stream: string, fromSeq: number, count: number, onCount: (n: number) => void): Promise<number> {
  let seq = fromSeq;
  let n = 0;
  for (;;) {
    const last = (await jsm.streams.info(stream)).state.last_seq;
    for (; seq <= last; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      if (m) n += countTrajectories(m.data);
    }
    onCount(n);
    if (n >= count) return seq;
    await sleep(20);
  }
}

async function publishTasks(js: JetStreamClient, subject: string, tasks: readonly RolloutTask[]): Promise<void> {
  await Promise.all(tasks.map((t) => publishProto(js, subject, RolloutTask, t, { msgId: `${t.dispatchId}:tasks` })));
}

/**
 * Completion tokens of the trajectories in stream messages [fromSeq, toSeq), read back with direct gets after the timed
 * window (while it runs, waitForTrajectories only counts, so this process takes as little CPU from the workers as it can).
 */
async function tokensOnStream(jsm: JetStreamManager, stream: string, fromSeq: number, toSeq: number): Promise<number> {
  let tokens = 0;
  for (let seq = fromSeq; seq < toSeq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m) for (const t of TrajectoryBatch.decode(m.data).trajectories) tokens += t.completionTokenIds.length;
  }
  return tokens;
}

/** N rollout processes on a fresh run: one warm-up group each, then `groups` timed groups. */
export async function measureRollout(o: ScalingOptions): Promise<RolloutRate> {
  const runId = benchRunId(`roll${o.workers}`);
  const names = runNames(runId);
  const root = mkdtempSync(path.join(tmpdir(), 'rlmesh-bench-rollout-'));
  // Every timed group is published at once, so the run's in-flight bound is the number of groups (workers size their
  // pulls from it: pullSizeFor).
  const configFile = writeYaml(path.join(root, 'run.yaml'), benchRunConfig(runId, { ...o.shape, groupSize: o.groupSize, maxInFlight: o.groups, rolloutWorkers: o.workers }));
  const nc = await connectNats({ servers: o.natsUrl, name: 'rlmesh-bench-rollout' });
  const js = jetstream(nc, { timeout: 30_000 });
  const jsm = await jetstreamManager(nc);
  const sup = new Supervisor({ entry: CLI_ENTRY });
  try {
    await provisionRun(jsm, runId, { maxMsgs: 100_000, maxBytes: 64 << 20 });
    const workers: ServedActor[] = await Promise.all(Array.from({ length: o.workers }, (_, i) =>
      serveActor(sup, 'rollout', { label: `rollout-${i + 1}`, configFile, runId, natsUrl: o.natsUrl, logDir: path.join(root, 'logs') })));
    // Warm-up (JIT, wasm kernels at full batch shapes), not timed: rounds of full batches until EVERY worker has
    // made WARM_CALLS generate calls (a worker pulls several tasks at once, so one round may all go to one worker).
    const scrape = (name: string) => Promise.all(workers.map((w) => scrapeMetric(w.metricsPort, name)));
    let nextSeq = 1;
    for (let round = 0; round < 10; round++) {
      const warm = tasksFor(runId, `warm${round}`, o.workers * (MAX_BATCH_SEQUENCES / o.groupSize), o.groupSize, o.maxNewTokens);
      await publishTasks(js, names.stages.tasks.subject, warm);
      nextSeq = await waitForTrajectories(jsm, names.stages.rollouts.stream, nextSeq, warm.length * o.groupSize, () => {});
      if ((await scrape('rlmesh_rollout_generate_calls_total')).every((c) => c >= WARM_CALLS)) break;
    }
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const counters = () => Promise.all(['rlmesh_rollout_tokens_total', 'rlmesh_rollout_groups_total', 'process_cpu_seconds_total', 'rlmesh_rollout_generate_calls_total', 'rlmesh_rollout_sequences_total'].map(scrape)) as Promise<[number[], number[], number[], number[], number[]]>;
    // Idle cost: the workers' CPU while no task is there (NATS pulls, heartbeats, metrics), over IDLE_MS.
    const idle0 = await scrape('process_cpu_seconds_total');
    await sleep(IDLE_MS);
    const idleCores = (await scrape('process_cpu_seconds_total')).reduce((a, c, i) => a + c - idle0[i]!, 0) / (IDLE_MS / 1000);
    const [tokens0, groups0, cpu0, calls0, rows0] = await counters();
    const load0 = os.loadavg()[0]!;

    const timed = tasksFor(runId, 'timed', o.groups, o.groupSize, o.maxNewTokens);
    const firstTimed = nextSeq;
    const t0 = performance.now();
    await publishTasks(js, names.stages.tasks.subject, timed);
    const afterTimed = await waitForTrajectories(jsm, names.stages.rollouts.stream, firstTimed, timed.length * o.groupSize, (n) => o.onGroup(Math.floor(n / o.groupSize)));
    const seconds = (performance.now() - t0) / 1000;

    const [tokens1, groups1, cpu1, calls1, rows1] = await counters();
    const cpuSeconds = sum(cpu1) - sum(cpu0); // includes the few ms of the /metrics scrapes themselves
    const tokens = await tokensOnStream(jsm, names.stages.rollouts.stream, firstTimed, afterTimed);
    return {
      workers: o.workers, groups: o.groups, trajectories: timed.length * o.groupSize, tokens, counterTokens: sum(tokens1) - sum(tokens0),
      seconds, tokensPerSecond: tokens / seconds, cores: cpuSeconds / seconds, tokensPerCpuSecond: tokens / cpuSeconds,
      groupsPerWorker: groups1.map((g, i) => g - groups0[i]!),
      rowsPerCallPerWorker: rows1.map((r, i) => (r - rows0[i]!) / Math.max(1, calls1[i]! - calls0[i]!)),
      load: [load0, os.loadavg()[0]!],
      idleCores,
    };
  } finally {
    await sup.stopAll(10_000);
    await deleteRun(jsm, runId).catch(() => 0);
    await nc.close();
    if (!process.env.RLMESH_BENCH_KEEP) rmSync(root, { recursive: true, force: true });
  }
}

export interface EngineRate {
  processes: number;
  tokens: number;
  /** from the common start signal to the last process's end */
  seconds: number;
  tokensPerSecond: number;
  /** the processes' CPU seconds / seconds */
  cores: number;
  tokensPerCpuSecond: number;
}

/**
 * The hardware's share of the scaling: N bare processes running the same batched generate calls (no NATS, no
 * publishing), started together after their warm-up. Their tokens per CPU-second, 2 vs 1, is what the machine
 * itself gives two processes sampling at once.
 */
export async function measureEngine(processes: number, calls: number, maxNewTokens: number): Promise<EngineRate> {
  const script = path.resolve('bench/pipeline/generate-loop.ts');
  const children = Array.from({ length: processes }, () => spawn(process.execPath, ['--import', 'tsx', script, String(calls), String(maxNewTokens)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  try {
    const lines = children.map((c) => createInterface({ input: c.stdout! }));
    const next = (i: number) => new Promise<string>((resolve, reject) => {
      lines[i]!.once('line', resolve);
      children[i]!.once('exit', (code) => reject(new Error(`generate-loop exited with ${code} before reporting`)));
    });
    await Promise.all(children.map((_, i) => next(i).then((l) => { if (l !== 'READY') throw new Error(`generate-loop said ${l}`); })));
    const results = children.map((_, i) => next(i));
    const t0 = performance.now();
    for (const c of children) c.stdin!.write('go\n');
    const parsed = (await Promise.all(results)).map((l) => JSON.parse(l) as { tokens: number; wallSeconds: number; cpuSeconds: number });
    const seconds = Math.max((performance.now() - t0) / 1000, ...parsed.map((p) => p.wallSeconds));
    const tokens = parsed.reduce((a, p) => a + p.tokens, 0);
    const cpuSeconds = parsed.reduce((a, p) => a + p.cpuSeconds, 0);
    return { processes, tokens, seconds, tokensPerSecond: tokens / seconds, cores: cpuSeconds / seconds, tokensPerCpuSecond: tokens / cpuSeconds };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  }
}
