// Applies a run's reward shapers in order: each sees the previous one's rewards.
import type { CompiledMethod, RewardSample, RewardShaperFn } from '../objectives/index.ts';

export function applyRewardShaping(shapers: ReadonlyArray<CompiledMethod<RewardShaperFn>>, samples: readonly RewardSample[]): number[] {
  let current = samples.map((s) => s.reward);
  for (const shaper of shapers) current = shaper.fn(samples.map((s, i) => ({ ...s, reward: current[i]! })));
  return current;
}
