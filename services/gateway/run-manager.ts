// The gateway's runs: validates and compiles a run config, starts its controller, in local mode spawns and
// supervises its actor processes, and ends everything when the run finishes or is stopped.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { compileRunConfig, runConfigSchema, type CompiledRunConfig } from '../../src/config/index.ts';
import { parseConfig } from '../../src/platform/config/index.ts';
import { ErrorCategory, RlmeshError, invalidField } from '../../src/errors.ts';
import type { RunView } from './api-schemas.ts';
import { RunController, RunState } from './controller.ts';
import { LocalActors } from './local-actors.ts';
import { WorkerProbe } from './worker-probe.ts';

export interface RunManagerOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Folder holding `<run id>/` (RLMESH_RUNS_DIR). */
  runsRoot: string;
  /** Local mode: spawn each run's actors as child processes (the NATS URL they connect to). */
  spawn?: { natsUrl: string; rolloutWorkers?: number };
  log(m: string): void;
}

export interface ManagedRun {
  controller: RunController;
  run: CompiledRunConfig;
  actors?: LocalActors;
  probe?: WorkerProbe;
  /** Resolves once the run's spawned actors have exited after its end (local mode). */
  actorsStopped?: Promise<void>;
}

const ENDED: readonly string[] = [RunState.finished, RunState.stopped, RunState.failed];

export class RunManager {
  private readonly runs = new Map<string, ManagedRun>();
  /** Run ids a create() is starting (between its checks and its controller's start): a second create is refused. */
  private readonly starting = new Set<string>();

  constructor(private readonly o: RunManagerOptions) {}

  get spawnsActors(): boolean { return this.o.spawn !== undefined; }

  /** Validates `raw` (a run config as parsed JSON/YAML), starts the run and, in local mode, its actors. */
  async create(raw: unknown, source = 'request body'): Promise<ManagedRun> {
    const parsed = parseConfig(raw ?? {}, runConfigSchema, source);
    const run = compileRunConfig({ ...(raw as object), run_id: parsed.run_id }); // one id even when it was generated
    const runId = run.config.run_id;
    if (this.starting.has(runId)) throw invalidField('run_id', `run "${runId}" is being started by another request`);
    const existing = this.runs.get(runId);
    if (existing && !ENDED.includes(existing.controller.status().state)) throw invalidField('run_id', `run "${runId}" is already running`);
    this.starting.add(runId);
    try {
      return await this.startRun(runId, run, parsed, source, existing);
    } finally {
      this.starting.delete(runId);
    }
  }

  private async startRun(runId: string, run: CompiledRunConfig, parsed: Record<string, unknown>, source: string, existing: ManagedRun | undefined): Promise<ManagedRun> {
    // Starting an ended run's id again resumes it: its earlier controller stops consuming first (it still takes
    // feedback and metrics after a stop, and would share the durable consumers with the new one), and its actors
    // have exited (a learner still writing the run's checkpoints folder would race the new one).
    if (existing) {
      await existing.controller.close();
      await existing.actorsStopped;
    }
    const dir = path.join(this.o.runsRoot, runId);
    mkdirSync(dir, { recursive: true });
    const configFile = path.join(dir, 'run.yaml');
    writeFileSync(configFile, YAML.stringify({ ...parsed, run_id: runId }));
    const controller = new RunController({ nc: this.o.nc, js: this.o.js, jsm: this.o.jsm, run, dir, log: this.o.log });
    const managed: ManagedRun = { controller, run };
    this.runs.set(runId, managed);
    this.recordCurriculum(managed, dir);
    try {
      await controller.start();
    } catch (err) {
      await controller.end(RunState.failed, err instanceof Error ? err.message : String(err));
      throw err instanceof RlmeshError ? err : new RlmeshError(ErrorCategory.transport, `run ${runId}: provisioning failed`, { cause: err });
    }
    // (a stop during provisioning leaves it stopped: no actors)
    if (this.o.spawn && controller.status().state === RunState.running) this.spawnActors(managed, dir, configFile, this.o.spawn);
    return managed;
  }

  private spawnActors(managed: ManagedRun, dir: string, configFile: string, spawn: NonNullable<RunManagerOptions['spawn']>): void {
    const { run, controller } = managed;
    const actors = new LocalActors({
      runId: run.config.run_id, runDir: dir, configFile, natsUrl: spawn.natsUrl, needsTeacher: run.mode.needsTeacher,
      rolloutWorkers: spawn.rolloutWorkers ?? run.config.rollout.workers, runsRoot: this.o.runsRoot, log: this.o.log,
    }, (slot) => void controller.end(RunState.failed, `${slot.label} exited (${slot.exitCode}); see ${path.join(dir, 'logs', slot.label + '.log')}`));
    const probe = new WorkerProbe(actors.slots);
    probe.start();
    managed.actors = actors;
    managed.probe = probe;
    managed.actorsStopped = new Promise<void>((resolve) => {
      controller.once('end', () => {
        // One last probe records the final policy versions before the workers go away.
        void probe.probeAll().finally(() => { probe.stop(); return actors.stop(); }).then(resolve, resolve);
      });
    });
  }

  /**
   * Appends `{ step, curriculum }` to curriculum.jsonl each time the curriculum has learned from a learner step (the
   * controller's `curriculum` event; plotted by dashboard and report).
   */
  private recordCurriculum(managed: ManagedRun, dir: string): void {
    managed.controller.on('curriculum', (e: { step: number; curriculum: Array<{ key: string; probability: number }> }) => {
      appendFileSync(path.join(dir, 'curriculum.jsonl'), JSON.stringify({ step: e.step, curriculum: e.curriculum }) + '\n');
    });
  }

  get(runId: string): ManagedRun {
    const r = this.runs.get(runId);
    if (!r) throw new RlmeshError(ErrorCategory.notFound, `run "${runId}" not found`, { field: 'id' });
    return r;
  }

  view(runId: string): RunView {
    const r = this.get(runId);
    return { ...r.controller.status(), workers: r.probe?.views() ?? [] };
  }

  list(): RunView[] {
    return [...this.runs.keys()].map((id) => this.view(id));
  }

  async stop(runId: string): Promise<RunView> {
    await this.get(runId).controller.end(RunState.stopped);
    return this.view(runId);
  }

  /** Stops every run and waits for spawned actors to exit. */
  async close(): Promise<void> {
    for (const r of this.runs.values()) {
      await r.controller.close();
      r.probe?.stop();
      await r.actors?.stop();
    }
  }
}
