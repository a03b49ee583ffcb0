// Test harness for whole runs: writes a tiny run config, starts gateway + verifier + teacher + learner + rollout
// workers as real `rlmesh serve` child processes on a unique run id (RLMESH_RUNS_DIR in a temp dir), and offers
// what the e2e tests need: run status over HTTP, kill/restart of one actor, span files, checkpoint state, cleanup.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ensureNats, Supervisor, type ActorProcess, type LocalNats } from '../../src/platform/process/index.ts';
import { readRunSpans } from '../../src/cli/local/run-report.ts';
import { deleteRun } from '../../src/platform/nats/index.ts';
import type { SpanRecord } from '../../src/platform/telemetry/index.ts';
import { SHARED_NATS_URL, uniqueRunId } from '../fixtures/nats-server.ts';

/** The rlmesh CLI every child runs. */
export const CLI_ENTRY = path.resolve('src/cli/main.ts');

/** The run status the gateway serves at GET /runs/<id> (the fields the tests read). */
export interface RunStatusView {
  runId: string;
  state: string;
  step: number;
  steps: number;
  policyVersion: number;
  inFlight: number;
  accounting: { dispatched: number; completed: number; droppedStale: number; filtered: number; rejected: number; deadLettered: number };
  lastMetrics: Record<string, number>;
}

export interface RunHarnessOptions {
  /** Run-id prefix. */
  prefix: string;
  /** Overrides merged into the tiny config, per section. */
  config?: Record<string, unknown>;
  /** Rollout worker processes. Default 2. */
  rolloutWorkers?: number;
}

export interface ServedProcess {
  label: string;
  proc: ActorProcess;
  /** gRPC port from the READY line (0 for the gateway). */
  grpcPort: number;
  pid: number;
  /** The READY line itself. */
  ready: string;
}

/** The tiny run: 6 learner steps of 8 trajectories (2 groups of 4), 24 new tokens, short NATS ack wait. */
export function tinyConfig(runId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, Record<string, unknown> | string | number> = {
    run_id: runId,
    mode: 'opd',
    seed: 0,
    student: { model: path.resolve('models/student') },
    teacher: { model: path.resolve('models/teacher'), kind: 'separate' },
    tasks: { suite: 'add:1-2', heldout_size: 8 },
    rollout: { workers: 2, group_size: 4, max_in_flight: 4, sampling: { temperature: 1.0, max_new_tokens: 24 } },
    learner: { steps: 6, batch_size: 8, lr: 3e-4, checkpoint_every: 0 },
    objective: { name: 'opd-reverse-kl', params: { kl_coef: 1.0, discount: 0.0 } },
    curriculum: { name: 'uniform' },
    eval: { heldout_size: 8, k: 1, every: 0 },
    nats: { ack_wait_ms: 8_000, max_deliver: 5 },
  };
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    const b = base[k];
    out[k] = b && typeof b === 'object' && v && typeof v === 'object' ? { ...b, ...(v as object) } : v;
  }
  return out;
}

export class RunHarness {
  readonly sup = new Supervisor({ entry: CLI_ENTRY });
  readonly processes = new Map<string, ServedProcess>();
  httpPort = 0;

  private constructor(
    readonly runId: string,
    /** Temp root: RLMESH_RUNS_DIR and the config file live under it. */
    readonly root: string,
    readonly configFile: string,
    readonly nats: LocalNats,
  ) {}

  /** runs/<id> under the temp RLMESH_RUNS_DIR. */
  get runDir(): string { return path.join(this.root, 'runs', this.runId); }
  get logDir(): string { return path.join(this.runDir, 'logs'); }

  /** Writes the config and starts NATS (or finds the shared one); no actor runs yet. */
  static async create(opts: RunHarnessOptions): Promise<RunHarness> {
    const runId = uniqueRunId(opts.prefix);
    const root = mkdtempSync(path.join(tmpdir(), `rlmesh-e2e-${opts.prefix}-`));
    const configFile = path.join(root, 'run.yaml');
    writeFileSync(configFile, YAML.stringify(tinyConfig(runId, opts.config)));
    const nats = await ensureNats(SHARED_NATS_URL);
    return new RunHarness(runId, root, configFile, nats);
  }

  /** Starts every actor of a run: the gateway first (it provisions the streams), then the workers. */
  async startAll(rolloutWorkers = 2): Promise<void> {
    const gw = await this.startActor('gateway');
    this.httpPort = Number(/http=(\d+)/.exec(gw.ready)![1]);
    const labels = ['verifier', 'teacher', 'learner', ...Array.from({ length: rolloutWorkers }, (_, i) => `rollout-${i + 1}`)];
    await Promise.all(labels.map((l) => this.startActor(l)));
  }

  /** Arguments `up` gives an actor; the same ones restart it. */
  argsFor(label: string): string[] {
    const actor = label.replace(/-\d+$/, '');
    const common = ['--config', this.configFile, '--run', this.runId, '--nats', this.nats.url];
    return actor === 'gateway'
      ? ['serve', 'gateway', '--port', '0', ...common]
      : ['serve', actor, '--port', '0', '--metrics-port', '0', '--worker-id', label, ...common];
  }

  /** Starts (or restarts) one actor process; resolves with its READY line. Log: logs/<label>[.n].log. */
  async startActor(label: string): Promise<ServedProcess> {
    const restarts = [...this.sup.processes].filter((p) => p.label === label || p.label.startsWith(`${label}.`)).length;
    const env = {
      RLMESH_NATS_URL: this.nats.url,
      RLMESH_RUNS_DIR: path.join(this.root, 'runs'),
      RLMESH_SPAN_FILE: path.join(this.runDir, 'spans', `${label}${restarts ? `.${restarts}` : ''}.jsonl`),
    };
    const proc = this.sup.start({ label: restarts ? `${label}.${restarts}` : label, args: this.argsFor(label), env, logDir: this.logDir });
    let ready: string;
    try {
      ready = await Supervisor.waitForLine(proc, 'READY', 120_000);
    } catch (e) {
      throw new Error(`${String(e)}\n${this.log(proc.label).slice(-3000)}`);
    }
    const served: ServedProcess = { label, proc, grpcPort: Number(/grpc=(\d+)/.exec(ready)?.[1] ?? 0), pid: proc.child.pid!, ready };
    this.processes.set(label, served);
    return served;
  }

  /** What a process wrote to stdout/stderr so far (by its supervisor label, e.g. "learner" or "learner.1"). */
  log(label: string): string {
    try { return readFileSync(path.join(this.logDir, `${label}.log`), 'utf8'); } catch { return ''; }
  }

  /** SIGKILL one actor and wait for it to be gone. */
  async kill(label: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.processes.get(label);
    if (!p) throw new Error(`no process ${label}`);
    p.proc.child.kill(signal);
    await p.proc.exited;
  }

  /** Sends a signal that does not end the process (SIGSTOP / SIGCONT). */
  signal(label: string, signal: NodeJS.Signals): void {
    this.processes.get(label)!.proc.child.kill(signal);
  }

  async status(): Promise<RunStatusView> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}/runs/${this.runId}`);
    if (!res.ok) throw new Error(`GET /runs/${this.runId}: ${res.status} ${await res.text()}`);
    return (await res.json()) as RunStatusView;
  }

  /** Polls the gateway until `pred` holds; fails (naming the last status) after timeoutMs or when an actor died. */
  async waitFor(pred: (s: RunStatusView) => boolean, what: string, timeoutMs = 150_000): Promise<RunStatusView> {
    const deadline = Date.now() + timeoutMs;
    let last: RunStatusView | undefined;
    while (Date.now() < deadline) {
      last = await this.status();
      if (pred(last)) return last;
      for (const p of this.processes.values()) {
        if (p.proc.child.exitCode !== null) throw new Error(`${p.label} exited (${p.proc.child.exitCode}) while waiting for ${what}:\n${this.log(p.proc.label).slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what}; last status ${JSON.stringify(last)}`);
  }

  /** Waits until the run has ended and returns its final status. */
  waitFinished(timeoutMs?: number): Promise<RunStatusView> {
    return this.waitFor((s) => s.state !== 'running' && s.state !== 'starting', 'the run to end', timeoutMs);
  }

  /** Span records of every process so far (call after stopAll so batches are flushed). */
  spans(): SpanRecord[] {
    return readRunSpans(this.runDir);
  }

  /** Lines of runs/<id>/metrics.jsonl written by the gateway. */
  metricsLines(): Array<Record<string, number | string>> {
    try {
      return readFileSync(path.join(this.runDir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>);
    } catch { return []; }
  }

  /** trainer_state.json of a checkpoint folder (default the learner's `latest`). */
  trainerState(dir = path.join(this.runDir, 'checkpoints', 'latest')): TrainerStateView {
    return JSON.parse(readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as TrainerStateView;
  }

  /** SIGTERM everything still running. */
  async stopAll(): Promise<void> {
    for (const p of this.processes.values()) if (p.proc.child.signalCode === 'SIGSTOP') p.proc.child.kill('SIGCONT');
    await this.sup.stopAll(8000);
  }

  /** Stops every process, removes the run's streams and the temp folder (unless RLMESH_KEEP_E2E is set). */
  async destroy(): Promise<void> {
    await this.stopAll();
    const nc = await connect({ servers: this.nats.url });
    try {
      await deleteRun(await jetstreamManager(nc), this.runId).catch(() => undefined);
    } finally {
      await nc.close();
    }
    await this.nats.stop();
    if (!process.env.RLMESH_KEEP_E2E) rmSync(this.root, { recursive: true, force: true });
    else process.stderr.write(`e2e: kept ${this.root}\n`);
  }
}

/** The part of a checkpoint's trainer_state.json the tests compare. */
export interface TrainerStateView {
  step: number;
  policy_version: number;
  rng?: { trainedIds?: string[]; trained?: number; droppedStale?: number };
  moments?: unknown;
}

/** Makes a folder (used for files a test writes next to the run). */
export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
