// `h1-horizon`: the h1 horizon curriculum (ALGORITHMS.md 13): train on chains of length h = 1, 2, ..., with a
// fixed number of steps per horizon, or (adaptive) advancing when the pass rate at h reaches a threshold.
import { z } from 'zod';
import { invalidField } from '../errors.ts';
import type { Arm, ArmProbability, CurriculumControls, CurriculumFeedback, CurriculumPartState, Json, TaskPick, TaskSampler } from './types.ts';
import { drawWithoutReplacement, groupArms, type ArmGroup, type Cursor } from './pool.ts';

export const horizonParams = z
  .object({
    /** Task category whose difficulty is the horizon; `*` = every category. Default `chain`. */
    category: z.string().min(1).default('chain'),
    /** First horizon, >= 1. Default 1. */
    min_horizon: z.number().int().min(1).default(1),
    /** Last horizon (training stays there). Default 5. */
    max_horizon: z.number().int().min(1).default(5),
    /** Learner steps per horizon (fixed schedule). Default 200. */
    steps_per_horizon: z.number().int().min(1).default(200),
    /** Advance on pass rate instead of on step count (derived variant). Default false. */
    adaptive: z.boolean().default(false),
    /** Adaptive: advance when a step's pass rate at the current horizon is >= this, [0, 1]. Default 0.5. */
    advance_threshold: z.number().min(0).max(1).default(0.5),
  })
  .strict();
export type HorizonParams = z.infer<typeof horizonParams>;

/** Fixed schedule: `h = min(max, min + floor(step / stepsPerHorizon))`. */
export function horizonAt(step: number, p: Pick<HorizonParams, 'min_horizon' | 'max_horizon' | 'steps_per_horizon'>): number {
  return Math.min(p.max_horizon, p.min_horizon + Math.floor(Math.max(0, step) / p.steps_per_horizon));
}

interface HorizonData {
  level: number;
  cursors: Cursor[];
}

export class HorizonSampler implements TaskSampler {
  readonly name = 'h1-horizon';
  private readonly groups: ArmGroup[];

  constructor(
    private readonly params: HorizonParams,
    pool: readonly Arm[],
    private readonly seed: number,
    private level = params.min_horizon,
    private readonly cursors: Cursor[] = [],
  ) {
    const arms = pool.filter((a) => a.size > 0 && (params.category === '*' || a.category === params.category));
    if (params.max_horizon < params.min_horizon) {
      throw invalidField('curriculum.params.max_horizon', `must be >= min_horizon (${params.min_horizon}), got ${params.max_horizon}`);
    }
    if (arms.length === 0) throw invalidField('curriculum.params.category', `no non-empty task arm of category "${params.category}" in the pool`);
    this.groups = groupArms(arms, 'difficulty').sort((a, b) => a.members[0]!.difficulty - b.members[0]!.difficulty);
    while (this.cursors.length < this.groups.length) this.cursors.push({ epoch: 0, pos: 0 });
  }

  static restore(state: CurriculumPartState, pool: readonly Arm[], seed: number): HorizonSampler {
    const d = state.data as unknown as HorizonData;
    return new HorizonSampler(horizonParams.parse(state.params), pool, seed, d.level, d.cursors.map((c) => ({ ...c })));
  }

  /** Horizon trained at `step`. */
  horizon(step: number): number {
    return this.params.adaptive ? this.level : horizonAt(step, this.params);
  }

  /** The group to draw from: difficulty == h, else the largest available difficulty below h, else the smallest. */
  private groupFor(h: number): number {
    let best = 0;
    for (let i = 0; i < this.groups.length; i++) if (this.groups[i]!.members[0]!.difficulty <= h) best = i;
    return best;
  }

  next(n: number, step: number): TaskPick[] {
    const g = this.groupFor(this.horizon(step));
    const picks: TaskPick[] = [];
    for (let k = 0; k < n; k++) {
      picks.push(drawWithoutReplacement(this.groups[g]!, this.cursors[g]!, this.seed, g));
    }
    return picks;
  }

  probabilities(): ArmProbability[] {
    const g = this.groupFor(this.level);
    return this.groups.map((x, i) => ({ key: x.key, probability: i === g ? 1 : 0 }));
  }

  update(feedback: readonly CurriculumFeedback[], step: number): void {
    if (!this.params.adaptive) {
      this.level = horizonAt(step, this.params);
      return;
    }
    let correct = 0;
    let total = 0;
    const d = this.groups[this.groupFor(this.level)]!.members[0]!.difficulty;
    for (const f of feedback) {
      if (f.difficulty !== d || (this.params.category !== '*' && f.category !== this.params.category) || !(f.samples > 0)) continue;
      correct += f.passRate * f.samples;
      total += f.samples;
    }
    if (total > 0 && correct / total >= this.params.advance_threshold) this.level = Math.min(this.params.max_horizon, this.level + 1);
  }

  controls(): CurriculumControls {
    return {};
  }

  state(): CurriculumPartState {
    const data: HorizonData = { level: this.level, cursors: this.cursors.map((c) => ({ ...c })) };
    return { name: this.name, params: { ...this.params }, data: data as unknown as Json };
  }
}
