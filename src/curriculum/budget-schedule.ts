// `tlts-budget`: the Train-Long-Think-Short length-budget schedule (ALGORITHMS.md 9c): the budget steps down
// from S0 to Sf in n switches, every T_total / (n + 1) learner steps (exponential or linear decrements).
import { z } from 'zod';
import type { CurriculumControls, CurriculumLayer, CurriculumPartState, Json, TaskPick } from './types.ts';

export const budgetScheduleParams = z
  .object({
    /** Initial budget S0, tokens. Default 256. */
    start: z.number().gt(0).default(256),
    /** Final budget Sf, tokens (<= start is the usual case). Default 87. */
    final: z.number().gt(0).default(87),
    /** Number of decrements n, >= 1. Default 3. */
    decrements: z.number().int().min(1).default(3),
    /** Total learner steps T_total the schedule spans; 0 = the run's `learner.steps`. Default 0. */
    total_steps: z.number().int().min(0).default(0),
    /** `exponential`: S_k = S0 d^k, d = (Sf/S0)^(1/n); `linear`: n equal decrements. Default `exponential`. */
    shape: z.enum(['exponential', 'linear']).default('exponential'),
    /** Also cap completions at 2 x budget (the triangular length reward is 0 beyond that). Default false. */
    cap_max_new_tokens: z.boolean().default(false),
  })
  .strict();
export type BudgetScheduleParams = z.infer<typeof budgetScheduleParams>;

/** Exact budget (tokens, not rounded) at learner step `step`. */
export function budgetAt(step: number, p: Pick<BudgetScheduleParams, 'start' | 'final' | 'decrements' | 'shape'>, totalSteps: number): number {
  const n = p.decrements;
  const interval = Math.max(1, totalSteps / (n + 1)); // I = T_total / (n + 1)
  const k = Math.min(n, Math.floor(Math.max(0, step) / interval));
  if (p.shape === 'linear') return p.start - (k * (p.start - p.final)) / n;
  const d = (p.final / p.start) ** (1 / n);
  return p.start * d ** k;
}

export class BudgetSchedule implements CurriculumLayer {
  readonly name = 'tlts-budget';
  constructor(
    private readonly params: BudgetScheduleParams,
    private readonly totalSteps: number,
  ) {}

  static restore(state: CurriculumPartState, totalSteps: number): BudgetSchedule {
    return new BudgetSchedule(budgetScheduleParams.parse(state.params), totalSteps);
  }

  private get steps(): number {
    return this.params.total_steps > 0 ? this.params.total_steps : this.totalSteps;
  }

  budget(step: number): number {
    return budgetAt(step, this.params, this.steps);
  }

  decorate(picks: TaskPick[]): TaskPick[] {
    return picks;
  }

  update(): void {}

  controls(step: number): CurriculumControls {
    const b = Math.max(1, Math.round(this.budget(step)));
    return this.params.cap_max_new_tokens ? { lengthBudget: b, maxNewTokens: 2 * b } : { lengthBudget: b };
  }

  state(): CurriculumPartState {
    return { name: this.name, params: { ...this.params }, data: { total_steps: this.totalSteps } as Json };
  }
}
