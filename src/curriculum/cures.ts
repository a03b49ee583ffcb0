// `cures`: CurES (ALGORITHMS.md 12): per-prompt Beta-Binomial success estimates, prompts drawn with weight
// exp(sqrt(p(1-p)) / tau) inside the current data subset (no repeats in a batch), optional rollout quotas
// proportional to sqrt(p(1-p)); estimates reset when training moves to the next subset.
import { z } from 'zod';
import type { Arm, ArmProbability, CurriculumControls, CurriculumFeedback, CurriculumPartState, Json, TaskPick, TaskSampler } from './types.ts';
import { groupArms, itemOf, type ArmGroup } from './pool.ts';
import { permute } from './permutation.ts';
import { hash32, Rng } from './rng.ts';

export const curesParams = z
  .object({
    /** Temperature tau of exp(sqrt(p(1-p)) / tau), > 0. Default 0.1 (derived; see spec 12.1). */
    tau: z.number().gt(0).default(0.1),
    /** Disjoint data subsets T the pool is split into, >= 1. Default 15. */
    subsets: z.number().int().min(1).default(15),
    /** Learner steps M spent on one subset before estimates reset. Default 10. */
    steps_per_subset: z.number().int().min(1).default(10),
    /** Cap on prompts per subset (keeps one draw O(subset)), prompts. Default 1024. */
    max_subset_size: z.number().int().min(1).max(1_000_000).default(1024),
    /** Total rollouts per batch to split by sqrt(p(1-p)); 0 = off (every pick uses the run's group size). Default 0. */
    rollout_budget: z.number().int().min(0).default(0),
    /** Rollout quotas are padded so their total is a multiple of this (rollout worker count). Default 1. */
    quota_multiple: z.number().int().min(1).default(1),
  })
  .strict();
export type CuresParams = z.infer<typeof curesParams>;

/** Posterior mean of Beta(a + 1, n - a + 1): `(a + 1) / (n + 2)`. */
export function betaMean(correct: number, total: number): number {
  return (correct + 1) / (total + 2);
}

/** Sampling probabilities `exp(sqrt(p(1-p)) / tau) / Z`. */
export function curesProbabilities(pHat: readonly number[], tau: number): number[] {
  const s = pHat.map((p) => Math.sqrt(Math.max(0, p * (1 - p))) / tau);
  const m = Math.max(...s);
  const e = s.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/**
 * Rollout quotas `n_x = round(budget * sigma_x / sum sigma)` with `sigma_x = sqrt(p q)` (the spec's cheap form),
 * then padded one by one (largest sigma first) until the total is a multiple of `multiple`.
 */
export function curesQuota(pHat: readonly number[], budget: number, multiple = 1): number[] {
  const sigma = pHat.map((p) => Math.sqrt(Math.max(0, p * (1 - p))));
  const total = sigma.reduce((a, b) => a + b, 0);
  if (total === 0 || pHat.length === 0) return pHat.map(() => 0);
  const n = sigma.map((s) => Math.round((budget * s) / total));
  const order = sigma.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  let sum = n.reduce((a, b) => a + b, 0);
  for (let k = 0; sum % multiple !== 0; k++) {
    n[order[k % order.length]![1]]! += 1;
    sum += 1;
  }
  return n;
}

interface CuresData {
  rng: number;
  subset: number;
  /** "category/difficulty/index" -> [correct, rollouts] for the current subset. */
  counts: Record<string, [number, number]>;
}

const keyOf = (p: { category: string; difficulty: number; index: number }) => `${p.category}/${p.difficulty}/${p.index}`;

export class CuresSampler implements TaskSampler {
  readonly name = 'cures';
  private readonly all: ArmGroup;

  constructor(
    private readonly params: CuresParams,
    pool: readonly Arm[],
    private readonly seed: number,
    private readonly rng: Rng = new Rng(seed),
    private subset = 0,
    private counts: Map<string, [number, number]> = new Map(),
  ) {
    this.all = { key: 'all', members: groupArms(pool, 'category-difficulty').flatMap((g) => g.members), size: 0 };
    this.all.size = this.all.members.reduce((a, m) => a + m.size, 0);
  }

  static restore(state: CurriculumPartState, pool: readonly Arm[], seed: number): CuresSampler {
    const d = state.data as unknown as CuresData;
    const counts = new Map(Object.entries(d.counts).map(([k, v]) => [k, [v[0], v[1]] as [number, number]]));
    return new CuresSampler(curesParams.parse(state.params), pool, seed, Rng.fromState(d.rng), d.subset, counts);
  }

  private subsetOf(step: number): number {
    return Math.floor(step / this.params.steps_per_subset) % this.params.subsets;
  }

  /** The prompts of subset `s`: a slice of one fixed shuffle of the whole pool. */
  subsetPrompts(s: number): TaskPick[] {
    const per = Math.min(this.params.max_subset_size, Math.max(1, Math.floor(this.all.size / this.params.subsets)));
    const start = (s * per) % this.all.size;
    const key = hash32(this.seed, 0xc0e5);
    const out: TaskPick[] = [];
    for (let k = 0; k < Math.min(per, this.all.size); k++) out.push(itemOf(this.all, permute((start + k) % this.all.size, this.all.size, key)));
    return out;
  }

  private syncSubset(step: number): void {
    const s = this.subsetOf(step);
    if (s !== this.subset) {
      this.subset = s;
      this.counts = new Map(); // estimates reset on a new subset
    }
  }

  pHat(pick: { category: string; difficulty: number; index: number }): number {
    const c = this.counts.get(keyOf(pick));
    return c ? betaMean(c[0], c[1]) : betaMean(0, 0);
  }

  next(n: number, step: number): TaskPick[] {
    this.syncSubset(step);
    const prompts = this.subsetPrompts(this.subset);
    const p = curesProbabilities(prompts.map((x) => this.pHat(x)), this.params.tau);
    // Weighted sampling without replacement (Efraimidis-Spirakis keys); with replacement once the subset is used up.
    const picks: TaskPick[] = [];
    while (picks.length < n) {
      const keys = p.map((w, i) => [Math.log(Math.max(this.rng.next(), 1e-300)) / w, i] as const);
      keys.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      for (const [, i] of keys.slice(0, n - picks.length)) picks.push({ ...prompts[i]! });
    }
    if (this.params.rollout_budget > 0) {
      const quota = curesQuota(picks.map((x) => this.pHat(x)), this.params.rollout_budget, this.params.quota_multiple);
      picks.forEach((x, i) => (x.groupSize = quota[i]!));
      return picks.filter((x) => x.groupSize! > 0);
    }
    return picks;
  }

  /** Probability mass per arm (category-difficulty) within the current subset. */
  probabilities(): ArmProbability[] {
    const prompts = this.subsetPrompts(this.subset);
    const p = curesProbabilities(prompts.map((x) => this.pHat(x)), this.params.tau);
    const byArm = new Map<string, number>();
    prompts.forEach((x, i) => {
      const k = `${x.category}-d${x.difficulty}`;
      byArm.set(k, (byArm.get(k) ?? 0) + p[i]!);
    });
    return [...byArm].map(([key, probability]) => ({ key, probability }));
  }

  /** Counts correct = round(passRate * samples); feedback without `index` cannot be tied to a prompt and is skipped. */
  update(feedback: readonly CurriculumFeedback[], step: number): void {
    for (const f of feedback) {
      if (f.index === undefined || !(f.samples > 0) || !(f.passRate >= 0 && f.passRate <= 1)) continue;
      const key = keyOf({ category: f.category, difficulty: f.difficulty, index: f.index });
      const c = this.counts.get(key) ?? [0, 0];
      c[0] += Math.round(f.passRate * f.samples);
      c[1] += f.samples;
      this.counts.set(key, c);
    }
    this.syncSubset(step);
  }

  controls(): CurriculumControls {
    return {};
  }

  state(): CurriculumPartState {
    const data: CuresData = { rng: this.rng.state, subset: this.subset, counts: Object.fromEntries(this.counts) };
    return { name: this.name, params: { ...this.params }, data: data as unknown as Json };
  }
}
