// Local mode (`serve gateway --spawn-actors`): the actor processes of one run (verifier, teacher when the mode
// needs one, learner, N rollout workers), started like `rlmesh up` does and stopped when the run ends.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor, type ActorProcess } from '../../src/platform/process/index.ts';

/** The rlmesh CLI entry every child runs (`rlmesh serve <actor>`); a file path, not an import. */
const CLI_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.ts');

export interface LocalActorsOptions {
  runId: string;
  runDir: string;
  /** Run-config file the children load (written by the run manager). */
  configFile: string;
  natsUrl: string;
  needsTeacher: boolean;
  rolloutWorkers: number;
  /** Runs root handed to the children (RLMESH_RUNS_DIR). */
  runsRoot: string;
  log(m: string): void;
}

export interface ActorSlot {
  label: string;
  actor: string;
  proc: ActorProcess;
  state: 'starting' | 'ready' | 'exited';
  grpcPort?: number;
  metricsPort?: number;
  exitCode: number | string | null;
}

const READY = /^READY (\S+) grpc=(\d+) metrics=(\d+)/;

export class LocalActors {
  readonly slots: ActorSlot[] = [];
  private readonly sup = new Supervisor({ entry: CLI_ENTRY });
  private stopping = false;

  /** Spawns every actor; `onUnexpectedExit` fires when one ends before `stop()` was called. */
  constructor(o: LocalActorsOptions, onUnexpectedExit: (slot: ActorSlot) => void) {
    const labels = ['verifier', ...(o.needsTeacher ? ['teacher'] : []), 'learner', ...Array.from({ length: o.rolloutWorkers }, (_, i) => `rollout-${i + 1}`)];
    const logDir = path.join(o.runDir, 'logs');
    for (const label of labels) {
      const actor = label.replace(/-\d+$/, '');
      const proc = this.sup.start({
        label,
        args: ['serve', actor, '--port', '0', '--metrics-port', '0', '--worker-id', label, '--config', o.configFile, '--run', o.runId, '--nats', o.natsUrl],
        // Each actor names itself (rlmesh-<actor>): an OTEL_SERVICE_NAME in the gateway's shell would give every process
        // of a trace one name (undefined removes it from the child's environment).
        env: { RLMESH_NATS_URL: o.natsUrl, RLMESH_RUNS_DIR: o.runsRoot, RLMESH_SPAN_FILE: path.join(o.runDir, 'spans', `${label}.jsonl`), OTEL_SERVICE_NAME: undefined },
        logDir,
      });
      const slot: ActorSlot = { label, actor, proc, state: 'starting', exitCode: null };
      Supervisor.onLine(proc, (line) => {
        const m = READY.exec(line);
        if (!m) return;
        slot.state = 'ready';
        slot.grpcPort = Number(m[2]);
        slot.metricsPort = Number(m[3]);
      });
      void proc.exited.then((code) => {
        slot.state = 'exited';
        slot.exitCode = code;
        if (!this.stopping) onUnexpectedExit(slot);
      });
      this.slots.push(slot);
    }
    o.log(`run ${o.runId}: spawned ${labels.join(', ')} (logs in ${logDir})`);
  }

  /** SIGTERM every live actor (SIGKILL after graceMs) and wait for all of them. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    await this.sup.stopAll(graceMs);
  }
}
