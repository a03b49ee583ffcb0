// Collects trajectories into learner batches of whole groups (GRPO needs every sample of a prompt together).
// Each trajectory's handler waits on the promise of the step that consumed it, so acks follow the step.
import type { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import type { SpanContext } from '@opentelemetry/api';

export interface Pending {
  trajectory: Trajectory;
  span?: SpanContext;
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupBatcher {
  private readonly groups = new Map<string, Pending[]>();
  private readonly firstSeen = new Map<string, number>();
  /** Redeliveries merged into a waiting trajectory. */
  repeats = 0;

  /**
   * `incompleteAfterMs`: a group still missing samples after this long (one was dead-lettered upstream) is
   * trained on with what arrived, so it never blocks the run.
   */
  constructor(private readonly batchSize: number, private readonly incompleteAfterMs = 30_000) {}

  /**
   * Adds a delivery; a redelivery of a trajectory that is already waiting (its ack_wait ran out, or the broker
   * restarted) joins the waiting one instead of being trained a second time: both handlers settle with its step.
   */
  add(p: Pending): void {
    const id = p.trajectory.groupId;
    const g = this.groups.get(id) ?? [];
    const same = g.find((q) => q.trajectory.trajectoryId === p.trajectory.trajectoryId);
    if (same) {
      const [resolve, reject] = [same.resolve, same.reject];
      same.resolve = () => { resolve(); p.resolve(); };
      same.reject = (err) => { reject(err); p.reject(err); };
      this.repeats++;
      return;
    }
    if (g.length === 0) this.firstSeen.set(id, Date.now());
    g.push(p);
    this.groups.set(id, g);
  }

  private complete(id: string, g: Pending[]): boolean {
    if (g.length >= Math.max(1, g[0]!.trajectory.groupSize)) return true;
    return Date.now() - (this.firstSeen.get(id) ?? Date.now()) > this.incompleteAfterMs;
  }

  /** Whole groups adding up to >= batchSize trajectories, or null while not enough are complete. */
  take(): Pending[] | null {
    const ready = [...this.groups.entries()].filter(([id, g]) => this.complete(id, g));
    const total = ready.reduce((a, [, g]) => a + g.length, 0);
    if (total < this.batchSize) return null;
    const out: Pending[] = [];
    for (const [id, g] of ready) {
      if (out.length >= this.batchSize) break;
      out.push(...g);
      this.groups.delete(id);
      this.firstSeen.delete(id);
    }
    return out;
  }

  get size(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.length;
    return n;
  }

  /** Fails every waiting trajectory (they are redelivered later). */
  failAll(err: unknown): void {
    for (const g of this.groups.values()) for (const p of g) p.reject(err);
    this.groups.clear();
    this.firstSeen.clear();
  }
}
