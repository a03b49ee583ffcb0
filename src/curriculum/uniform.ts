// `uniform`: every non-empty arm group equally likely (or proportional to its task count), tasks without replacement.
import { z } from 'zod';
import type { ArmProbability, CurriculumControls, CurriculumPartState, TaskPick, TaskSampler, Arm } from './types.ts';
import { ARM_KEYS, drawWithoutReplacement, groupArms, type ArmGroup, type Cursor } from './pool.ts';
import { Rng } from './rng.ts';

export const uniformParams = z
  .object({
    /** Which arms count as one unit. Default `category-difficulty`. */
    arm_key: z.enum(ARM_KEYS).default('category-difficulty'),
    /** `arm`: each group equally likely; `task`: proportional to its number of tasks. Default `arm`. */
    weight_by: z.enum(['arm', 'task']).default('arm'),
  })
  .strict();
export type UniformParams = z.infer<typeof uniformParams>;

interface UniformData {
  rng: number;
  cursors: Cursor[];
}

export class UniformSampler implements TaskSampler {
  readonly name = 'uniform';
  private readonly groups: ArmGroup[];
  private readonly weights: number[];

  constructor(
    private readonly params: UniformParams,
    pool: readonly Arm[],
    private readonly seed: number,
    private readonly rng: Rng = new Rng(seed),
    private readonly cursors: Cursor[] = [],
  ) {
    this.groups = groupArms(pool, params.arm_key);
    this.weights = this.groups.map((g) => (params.weight_by === 'task' ? g.size : 1));
    while (this.cursors.length < this.groups.length) this.cursors.push({ epoch: 0, pos: 0 });
  }

  static restore(state: CurriculumPartState, pool: readonly Arm[], seed: number): UniformSampler {
    const data = state.data as unknown as UniformData;
    return new UniformSampler(uniformParams.parse(state.params), pool, seed, Rng.fromState(data.rng), data.cursors.map((c) => ({ ...c })));
  }

  next(n: number): TaskPick[] {
    const picks: TaskPick[] = [];
    for (let k = 0; k < n; k++) {
      const g = this.rng.categorical(this.weights);
      picks.push(drawWithoutReplacement(this.groups[g]!, this.cursors[g]!, this.seed, g));
    }
    return picks;
  }

  probabilities(): ArmProbability[] {
    const total = this.weights.reduce((a, b) => a + b, 0);
    return this.groups.map((g, i) => ({ key: g.key, probability: this.weights[i]! / total }));
  }

  update(): void {}

  controls(): CurriculumControls {
    return {};
  }

  state(): CurriculumPartState {
    const data: UniformData = { rng: this.rng.state, cursors: this.cursors.map((c) => ({ ...c })) };
    return { name: this.name, params: { ...this.params }, data: data as unknown as CurriculumPartState['data'] };
  }
}
