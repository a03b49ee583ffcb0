// Group batcher: the worker's handlers submit one task group each; the batcher runs the groups that arrive
// together as ONE generate call (up to maxSequences rows), so a worker keeps its generation batch full even
// when the controller dispatches small groups, and sends each call's groups on together (one message). Groups whose
// sampling differs go to separate calls (and rolloutGroups samples a group whose prompt nearly fills the context in a
// generate call of its own, within the same batch).
import type { RolloutRequest } from '../../src/actors/index.ts';
import type { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';

export interface BatchStats {
  groups: number;
  sequences: number;
  ms: number;
}

export interface GroupBatcherOptions {
  /** Samples a batch of compatible groups in one call (rolloutGroups). */
  generate: (reqs: RolloutRequest[]) => Trajectory[][];
  /** Sends one call's groups on (one TrajectoryBatch); each group's submit settles once it has. Default: nothing to send. */
  publish?: (groups: Trajectory[][]) => Promise<void>;
  /** May two requests share one call? (samplingCompatible on their sampling) */
  compatible: (a: RolloutRequest, b: RolloutRequest) => boolean;
  /** Rows (sequences) per generate call at most; a single larger group still runs alone. */
  maxSequences: number;
  /** Groups that can be pending at once (the worker's handlers); when all are here the call starts at once. */
  maxGroups: number;
  /** How long the first pending group waits for more to arrive before its call starts, ms. */
  lingerMs: number;
  onBatch?: (stats: BatchStats) => void;
}

interface Pending {
  req: RolloutRequest;
  onStart?: () => void;
  resolve: (t: Trajectory[]) => void;
  reject: (e: unknown) => void;
}

export class GroupBatcher {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: GroupBatcherOptions) {}

  /**
   * Resolves with this group's trajectories once the batch it joined has been generated and published (rejects when
   * either failed); `onStart` runs just before that batch's generate call (a worker tells the broker it is still
   * working on the task).
   */
  submit(req: RolloutRequest, onStart?: () => void): Promise<Trajectory[]> {
    return new Promise<Trajectory[]>((resolve, reject) => {
      this.pending.push({ req, onStart, resolve, reject });
      if (this.sequences() >= this.o.maxSequences || this.pending.length >= this.o.maxGroups) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.o.lingerMs);
    });
  }

  /** Groups waiting for their call. */
  get waiting(): number {
    return this.pending.length;
  }

  private sequences(): number {
    return this.pending.reduce((a, p) => a + p.req.groupSize, 0);
  }

  /** Runs every pending group: compatible groups in calls of at most maxSequences rows, in arrival order. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const queue = this.pending.splice(0);
    while (queue.length > 0) {
      const head = queue.shift()!;
      const batch = [head];
      let rows = head.req.groupSize;
      for (let i = 0; i < queue.length;) {
        const p = queue[i]!;
        if (rows + p.req.groupSize <= this.o.maxSequences && this.o.compatible(head.req, p.req)) {
          batch.push(p);
          rows += p.req.groupSize;
          queue.splice(i, 1);
        } else {
          i++;
        }
      }
      this.run(batch, rows);
    }
  }

  private run(batch: Pending[], rows: number): void {
    for (const p of batch) p.onStart?.();
    const t0 = performance.now();
    let out: Trajectory[][];
    try {
      out = this.o.generate(batch.map((p) => p.req));
    } catch (e) {
      // One bad group must not fail the others: run each alone so only the failing one is rejected.
      if (batch.length === 1) batch[0]!.reject(e);
      else for (const p of batch) this.run([p], p.req.groupSize);
      return;
    }
    this.o.onBatch?.({ groups: batch.length, sequences: rows, ms: performance.now() - t0 });
    const sent = this.o.publish ? this.o.publish(out) : Promise.resolve();
    sent.then(() => batch.forEach((p, i) => p.resolve(out[i]!)), (e: unknown) => batch.forEach((p) => p.reject(e)));
  }
}
