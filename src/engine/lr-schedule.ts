// Learning-rate schedules: the rate for optimizer step `step` (0-based) of a run of `totalSteps`. Linear warmup from
// 0, then constant, linear decay or cosine decay down to `minRatio` x the base rate at the last step.
export type LrScheduleName = 'constant' | 'linear' | 'cosine';

export interface LrSchedule {
  name: LrScheduleName;
  /** Steps of linear warmup (rate (step + 1) / warmup x base). */
  warmupSteps: number;
  /** Floor of the decay as a fraction of the base rate, in [0, 1]. */
  minRatio: number;
}

export const CONSTANT_LR: LrSchedule = { name: 'constant', warmupSteps: 0, minRatio: 0 };

/**
 * How many steps of a run of `totalSteps` the schedule gives a rate > 0: all of them, except a decay to 0
 * (`minRatio` 0), whose rate is 0 from step `totalSteps` on.
 */
export function stepsWithRate(totalSteps: number, s: LrSchedule): number {
  return s.name !== 'constant' && s.minRatio === 0 ? totalSteps : Infinity;
}

/** The rate of step `step` (0-based) out of `totalSteps`; never 0 (the first decaying step is the base rate). */
export function learningRateAt(base: number, step: number, totalSteps: number, s: LrSchedule = CONSTANT_LR): number {
  if (step < s.warmupSteps) return (base * (step + 1)) / s.warmupSteps;
  if (s.name === 'constant') return base;
  const span = Math.max(1, totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span); // 0 at the first decaying step, < 1 at the last
  const shape = s.name === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return base * (s.minRatio + (1 - s.minRatio) * shape);
}
