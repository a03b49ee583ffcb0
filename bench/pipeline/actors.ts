// Bench helpers for the pipeline bench: the run config it uses, `rlmesh serve <actor>` child processes with their
// READY ports, Prometheus counters read from a child's /metrics, and the machine/commit lines of the results file.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { Supervisor, type ActorProcess } from '../../src/platform/process/index.ts';

/** The rlmesh CLI every child runs. */
export const CLI_ENTRY = path.resolve('src/cli/main.ts');

export interface BenchRunShape {
  steps: number;
  batchSize: number;
  groupSize: number;
  maxNewTokens: number;
  /** task groups the controller keeps dispatched */
  maxInFlight: number;
  rolloutWorkers: number;
  studentModel: string;
  teacherModel: string;
}

/** The small OPD run the bench measures (same for the distributed run and the in-process loop). */
export function benchRunConfig(runId: string, s: BenchRunShape): Record<string, unknown> {
  return {
    run_id: runId,
    mode: 'opd',
    seed: 0,
    student: { model: path.resolve(s.studentModel) },
    teacher: { model: path.resolve(s.teacherModel), kind: 'separate' },
    tasks: { suite: 'add:1-2', heldout_size: 8 },
    rollout: { workers: s.rolloutWorkers, group_size: s.groupSize, max_in_flight: s.maxInFlight, sampling: { temperature: 1.0, max_new_tokens: s.maxNewTokens } },
    learner: { steps: s.steps, batch_size: s.batchSize, lr: 3e-4, checkpoint_every: 0 },
    objective: { name: 'opd-reverse-kl', params: { kl_coef: 1.0, discount: 0.0 } },
    curriculum: { name: 'uniform' },
    eval: { heldout_size: 8, k: 1, every: 0 },
  };
}

export function writeYaml(file: string, value: unknown): string {
  writeFileSync(file, YAML.stringify(value));
  return file;
}

export interface ServedActor {
  label: string;
  proc: ActorProcess;
  grpcPort: number;
  metricsPort: number;
}

export interface ServeOptions {
  label: string;
  configFile: string;
  runId: string;
  natsUrl: string;
  logDir: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts `rlmesh serve <actor>` under `sup` and resolves with the ports of its READY line. */
export async function serveActor(sup: Supervisor, actor: string, o: ServeOptions): Promise<ServedActor> {
  const proc = sup.start({
    label: o.label,
    args: ['serve', actor, '--port', '0', '--metrics-port', '0', '--worker-id', o.label, '--config', o.configFile, '--run', o.runId, '--nats', o.natsUrl],
    env: { RLMESH_NATS_URL: o.natsUrl, ...o.env },
    logDir: o.logDir,
  });
  let line: string;
  try {
    line = await Supervisor.waitForLine(proc, 'READY', 120_000);
  } catch (e) {
    throw new Error(`${String(e)}; log: ${tail(path.join(o.logDir, `${o.label}.log`))}`);
  }
  return { label: o.label, proc, grpcPort: Number(/grpc=(\d+)/.exec(line)?.[1] ?? 0), metricsPort: Number(/metrics=(\d+)/.exec(line)?.[1] ?? 0) };
}

/** The last characters of a log file ('' when missing). */
export function tail(file: string, chars = 2000): string {
  try { return readFileSync(file, 'utf8').slice(-chars); } catch { return ''; }
}

/** Sum of every sample of a Prometheus counter/gauge on a child's /metrics (0 when absent). */
export async function scrapeMetric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\S+?)(?:\{[^}]*\})? ([\d.e+-]+)$/.exec(line);
    if (m && m[1] === name) sum += Number(m[2]);
  }
  return sum;
}

export function cpuModel(): string {
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/);
    if (m) return `${m[1]!.trim()} x${os.cpus().length}`;
  } catch { /* not Linux */ }
  return `${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}`;
}

/** HEAD's short hash, `+dirty` when the code the bench runs (src, services, bench) differs from HEAD. */
export function gitCommit(paths: readonly string[] = ['src', 'services', 'bench/pipeline', 'bench/pipeline.ts']): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', ...paths], { encoding: 'utf8' }).trim();
    return changed ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A run id unique to this bench process. */
export function benchRunId(prefix: string): string {
  return `bench-${prefix}-${process.pid}-${Date.now().toString(36)}`;
}
