// Collects trajectories into learner batches of whole groups (GRPO needs every sample of a prompt together).
// Each trajectory's handler waits on the promise of the step that consumed it, so acks follow the step. With a batch
// filter (DAPO dynamic sampling), each group is screened once when complete; filtered groups are set aside for
// the caller (never trained) and the batch waits for admitted ones.
import type { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import type { SpanContext } from '@opentelemetry/api';

export interface Pending {
  trajectory: Trajectory;
  span?: SpanContext;
  resolve(): void;
  reject(err: unknown): void;
}

/** Decides, once per complete group, whether it is trained on. */
export type GroupAdmission = (group: readonly Trajectory[]) => boolean;

export class GroupBatcher {
  private readonly groups = new Map<string, Pending[]>();
  private readonly firstSeen = new Map<string, number>();
  /** Complete groups the admission function accepted; only these are batched. */
  private readonly admitted = new Set<string>();
  /** Complete groups it filtered, waiting for `takeFiltered`. */
  private filtered: Pending[][] = [];
  /** Redeliveries merged into a waiting trajectory. */
  repeats = 0;

  /**
   * `incompleteAfterMs`: a group still missing samples after this long (one was dead-lettered upstream) is
   * trained on with what arrived, so it never blocks the run.
   */
  constructor(private readonly batchSize: number, private readonly incompleteAfterMs = 30_000, private readonly admit: GroupAdmission = () => true) {}

  /**
   * Adds a delivery; a redelivery of a trajectory that is already waiting (its ack_wait ran out, or the broker
   * restarted) joins the waiting one instead of being trained a second time: both handlers settle with its step.
   */
  add(p: Pending): void {
    const id = p.trajectory.groupId;
    const waiting = this.groups.get(id) ?? this.filtered.find((f) => f[0]!.trajectory.groupId === id);
    const same = waiting?.find((q) => q.trajectory.trajectoryId === p.trajectory.trajectoryId);
    if (same) {
      const [resolve, reject] = [same.resolve, same.reject];
      same.resolve = () => { resolve(); p.resolve(); };
      same.reject = (err) => { reject(err); p.reject(err); };
      this.repeats++;
      return;
    }
    if (waiting && !this.groups.has(id)) {
      waiting.push(p); // a late member of a filtered group leaves with it
      return;
    }
    const g = waiting ?? [];
    if (g.length === 0) this.firstSeen.set(id, Date.now());
    g.push(p);
    this.groups.set(id, g);
  }

  private complete(id: string, g: Pending[]): boolean {
    if (g.length >= Math.max(1, g[0]!.trajectory.groupSize)) return true;
    return Date.now() - (this.firstSeen.get(id) ?? Date.now()) > this.incompleteAfterMs;
  }

  /** Screens complete groups not yet screened; filtered ones leave the batch queue for `takeFiltered`. */
  private screen(): void {
    for (const [id, g] of this.groups) {
      if (this.admitted.has(id) || !this.complete(id, g)) continue;
      if (this.admit(g.map((p) => p.trajectory))) this.admitted.add(id);
      else {
        this.filtered.push(g);
        this.groups.delete(id);
        this.firstSeen.delete(id);
      }
    }
  }

  /** The complete groups the admission function filtered since the last call. */
  takeFiltered(): Pending[][] {
    this.screen();
    const out = this.filtered;
    this.filtered = [];
    return out;
  }

  /** Whole admitted groups adding up to >= batchSize trajectories, or null while not enough are complete. */
  take(): Pending[] | null {
    this.screen();
    const ready = [...this.groups.entries()].filter(([id]) => this.admitted.has(id));
    const total = ready.reduce((a, [, g]) => a + g.length, 0);
    if (total < this.batchSize) return null;
    const out: Pending[] = [];
    for (const [id, g] of ready) {
      if (out.length >= this.batchSize) break;
      out.push(...g);
      this.groups.delete(id);
      this.firstSeen.delete(id);
      this.admitted.delete(id);
    }
    return out;
  }

  get size(): number {
    let n = 0;
    for (const g of [...this.groups.values(), ...this.filtered]) n += g.length;
    return n;
  }

  /** Fails every waiting trajectory (they are redelivered later). */
  failAll(err: unknown): void {
    for (const g of [...this.groups.values(), ...this.filtered]) for (const p of g) p.reject(err);
    this.groups.clear();
    this.firstSeen.clear();
    this.admitted.clear();
    this.filtered = [];
  }
}
