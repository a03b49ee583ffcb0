// `sec`: Self-Evolving Curriculum (ALGORITHMS.md 10): a Boltzmann bandit over arm groups whose value Q tracks
// the mean |advantage| the learner saw on each group (TD(0) update; absent groups decay toward 0).
import { z } from 'zod';
import type { Arm, ArmProbability, CurriculumControls, CurriculumFeedback, CurriculumPartState, Json, TaskPick, TaskSampler } from './types.ts';
import { ARM_KEYS, armKeyOf, drawWithoutReplacement, groupArms, type ArmGroup, type Cursor } from './pool.ts';
import { Rng, softmax } from './rng.ts';

export const secParams = z
  .object({
    /** Which arms form one bandit arm. Default `category-difficulty` (the spec's joint key). */
    arm_key: z.enum(ARM_KEYS).default('category-difficulty'),
    /** TD(0) step size alpha, (0, 1]. Default 0.5 (paper runs; the code's config default is 0.1). */
    alpha: z.number().gt(0).lte(1).default(0.5),
    /** Boltzmann temperature tau, > 0. Default 1.0. */
    tau: z.number().gt(0).default(1.0),
    /** Probability of a uniformly random arm instead (epsilon-greedy mix), [0, 1]. Default 0 (pure Boltzmann). */
    epsilon: z.number().min(0).max(1).default(0),
    /** Arms absent from a step's feedback are updated with reward 0 (the reference code's behaviour). Default true. */
    decay_absent: z.boolean().default(true),
  })
  .strict();
export type SecParams = z.infer<typeof secParams>;

/** One TD(0) step: `Q <- (1 - alpha) Q + alpha r` for observed arms (and absent ones with r = 0 when decaying). */
export function secUpdate(q: readonly number[], rewards: ReadonlyArray<number | undefined>, alpha: number, decayAbsent: boolean): number[] {
  return q.map((v, i) => {
    const r = rewards[i];
    if (r === undefined) return decayAbsent ? (1 - alpha) * v : v;
    return (1 - alpha) * v + alpha * r;
  });
}

/** Sampling distribution: Boltzmann over Q mixed with epsilon of uniform. */
export function secProbabilities(q: readonly number[], tau: number, epsilon = 0): number[] {
  const p = softmax(q, tau);
  return p.map((v) => (1 - epsilon) * v + epsilon / q.length);
}

interface SecData {
  rng: number;
  q: number[];
  cursors: Cursor[];
}

export class SecSampler implements TaskSampler {
  readonly name = 'sec';
  private readonly groups: ArmGroup[];
  private readonly index: Map<string, number>;

  constructor(
    private readonly params: SecParams,
    pool: readonly Arm[],
    private readonly seed: number,
    private readonly rng: Rng = new Rng(seed),
    private q: number[] = [],
    private readonly cursors: Cursor[] = [],
  ) {
    this.groups = groupArms(pool, params.arm_key);
    this.index = new Map(this.groups.map((g, i) => [g.key, i]));
    while (this.q.length < this.groups.length) this.q.push(0);
    while (this.cursors.length < this.groups.length) this.cursors.push({ epoch: 0, pos: 0 });
  }

  static restore(state: CurriculumPartState, pool: readonly Arm[], seed: number): SecSampler {
    const d = state.data as unknown as SecData;
    return new SecSampler(secParams.parse(state.params), pool, seed, Rng.fromState(d.rng), [...d.q], d.cursors.map((c) => ({ ...c })));
  }

  /** Current values Q, one per group, in `probabilities()` order. */
  values(): number[] {
    return [...this.q];
  }

  next(n: number): TaskPick[] {
    const p = secProbabilities(this.q, this.params.tau, this.params.epsilon);
    const picks: TaskPick[] = [];
    for (let k = 0; k < n; k++) {
      const g = this.rng.categorical(p);
      picks.push(drawWithoutReplacement(this.groups[g]!, this.cursors[g]!, this.seed, g));
    }
    return picks;
  }

  probabilities(): ArmProbability[] {
    const p = secProbabilities(this.q, this.params.tau, this.params.epsilon);
    return this.groups.map((g, i) => ({ key: g.key, probability: p[i]! }));
  }

  /** Reward of a group = rollout-weighted mean of |A| over this step's feedback for it. */
  update(feedback: readonly CurriculumFeedback[]): void {
    const sum = new Array<number>(this.groups.length).fill(0);
    const count = new Array<number>(this.groups.length).fill(0);
    for (const f of feedback) {
      const g = this.index.get(armKeyOf(f, this.params.arm_key));
      if (g === undefined || !(f.samples > 0) || !Number.isFinite(f.meanAbsAdvantage)) continue;
      sum[g]! += Math.abs(f.meanAbsAdvantage) * f.samples;
      count[g]! += f.samples;
    }
    const rewards = sum.map((s, i) => (count[i]! > 0 ? s / count[i]! : undefined));
    this.q = secUpdate(this.q, rewards, this.params.alpha, this.params.decay_absent);
  }

  controls(): CurriculumControls {
    return {};
  }

  state(): CurriculumPartState {
    const data: SecData = { rng: this.rng.state, q: [...this.q], cursors: this.cursors.map((c) => ({ ...c })) };
    return { name: this.name, params: { ...this.params }, data: data as unknown as Json };
  }
}
