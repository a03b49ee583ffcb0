// `dump`: DUMP (ALGORITHMS.md 11): UCB over data distributions (arm groups) from a sliding window of rollout
// |advantage|, softmax(UCB / temp) sampling, tasks drawn uniformly with replacement inside the chosen group.
import { z } from 'zod';
import type { Arm, ArmProbability, CurriculumControls, CurriculumFeedback, CurriculumPartState, Json, TaskPick, TaskSampler } from './types.ts';
import { ARM_KEYS, armKeyOf, groupArms, itemOf, type ArmGroup } from './pool.ts';
import { Rng, softmax } from './rng.ts';

export const dumpParams = z
  .object({
    /** Which arms form one distribution. Default `category` (a data source). */
    arm_key: z.enum(ARM_KEYS).default('category'),
    /** Sliding window of recent rollouts per distribution, rollouts. Default 300. */
    window: z.number().int().min(1).max(100_000).default(300),
    /** Exploration coefficient c, >= 0. Default 1. */
    c: z.number().min(0).default(1),
    /** Softmax temperature over UCB scores, > 0. Default 0.1. */
    temperature: z.number().gt(0).default(0.1),
  })
  .strict();
export type DumpParams = z.infer<typeof dumpParams>;

/** `UCB_j = mu_j + c sqrt(2 ln(N + 1) / (n_j + 1))`, N = sum n. */
export function dumpUcb(mu: readonly number[], n: readonly number[], c: number): number[] {
  const N = n.reduce((a, b) => a + b, 0);
  return mu.map((m, j) => m + c * Math.sqrt((2 * Math.log(N + 1)) / (n[j]! + 1)));
}

interface DumpData {
  rng: number;
  windows: number[][];
  counts: number[];
}

export class DumpSampler implements TaskSampler {
  readonly name = 'dump';
  private readonly groups: ArmGroup[];
  private readonly index: Map<string, number>;

  constructor(
    private readonly params: DumpParams,
    pool: readonly Arm[],
    seed: number,
    private readonly rng: Rng = new Rng(seed),
    private readonly windows: number[][] = [],
    private readonly counts: number[] = [],
  ) {
    this.groups = groupArms(pool, params.arm_key);
    this.index = new Map(this.groups.map((g, i) => [g.key, i]));
    while (this.windows.length < this.groups.length) this.windows.push([]);
    while (this.counts.length < this.groups.length) this.counts.push(0);
  }

  static restore(state: CurriculumPartState, pool: readonly Arm[], seed: number): DumpSampler {
    const d = state.data as unknown as DumpData;
    return new DumpSampler(dumpParams.parse(state.params), pool, seed, Rng.fromState(d.rng), d.windows.map((w) => [...w]), [...d.counts]);
  }

  /** Current UCB score per group (probabilities() order). */
  scores(): number[] {
    const mu = this.windows.map((w) => (w.length ? w.reduce((a, b) => a + b, 0) / w.length : 0));
    return dumpUcb(mu, this.counts, this.params.c);
  }

  private probs(): number[] {
    return softmax(this.scores(), this.params.temperature);
  }

  next(n: number): TaskPick[] {
    const p = this.probs();
    const picks: TaskPick[] = [];
    for (let k = 0; k < n; k++) {
      const g = this.groups[this.rng.categorical(p)]!;
      picks.push(itemOf(g, this.rng.int(g.size)));
    }
    return picks;
  }

  probabilities(): ArmProbability[] {
    const p = this.probs();
    return this.groups.map((g, i) => ({ key: g.key, probability: p[i]! }));
  }

  /** Each feedback record stands for `samples` rollouts with |A| = meanAbsAdvantage (their mean is what the window keeps). */
  update(feedback: readonly CurriculumFeedback[]): void {
    for (const f of feedback) {
      const g = this.index.get(armKeyOf(f, this.params.arm_key));
      if (g === undefined || !(f.samples > 0) || !Number.isFinite(f.meanAbsAdvantage)) continue;
      const samples = Math.round(f.samples);
      const w = this.windows[g]!;
      for (let s = 0; s < Math.min(samples, this.params.window); s++) w.push(Math.abs(f.meanAbsAdvantage));
      if (w.length > this.params.window) w.splice(0, w.length - this.params.window);
      this.counts[g]! += samples;
    }
  }

  controls(): CurriculumControls {
    return {};
  }

  state(): CurriculumPartState {
    const data: DumpData = { rng: this.rng.state, windows: this.windows.map((w) => [...w]), counts: [...this.counts] };
    return { name: this.name, params: { ...this.params }, data: data as unknown as Json };
  }
}
