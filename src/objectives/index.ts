// Public surface of src/objectives: loss functions, selectors, entropy controls, reward shaping, registry.
export type {
  Aggregation as AggregationKind,
  EntropyControl,
  LossHooks,
  ObjectiveBatch,
  ObjectiveFn,
  ObjectiveMetrics,
  ObjectiveResult,
  RewardSample,
  RewardShaperFn,
  Selection,
  TokenHook,
  TokenHookContext,
  TokenSelectorFn,
} from './types.ts';
export type {
  CompiledMethod,
  EntropyControlName,
  MethodFamily,
  MethodListing,
  MethodSpec,
  ObjectiveName,
  RewardShapingName,
  TokenSelectorName,
} from './registry.ts';
export type { CompiledObjectives, MethodChoice, ObjectiveState, ObjectivesOptions } from './compute-loss.ts';
export type { DistributionPair } from './divergence.ts';
export type { RewardScaling } from './advantages.ts';
export type { AepoControl, AepoPlan, AepoComposition } from './aepo.ts';
export type { SirenControl } from './siren.ts';

export { Aggregation } from './types.ts';
export { compileObjectives, computeLoss, exportObjectiveState, importObjectiveState, shapeRewards } from './compute-loss.ts';
export {
  compileMethod,
  entropyControls,
  listMethods,
  methodRegistry,
  objectives,
  rewardShapers,
  tokenSelectors,
} from './registry.ts';
export { aggregate, keptFraction } from './aggregate.ts';
export { grpoAdvantages, groupCentred, opdAdvantages } from './advantages.ts';
export { distributionPair, forwardKl, generalizedJsd, reverseKl, clippedForwardKl, k3 } from './divergence.ts';
export { clippedSurrogate, importanceRatio } from './surrogate.ts';
export { gkdDataSource } from './distillation.ts';
export { prefixSourceFor, unitHash, usesTeacherPrefixes, type ObjectiveChoice, type PrefixSource } from './prefix-source.ts';
export { positionWeights } from './pw-opsd.ts';
export { drpoLengthWeights } from './drpo.ts';
export { topEntropyMask, tipQuadrant, tipWeight, weightedSampleWithoutReplacement } from './token-selection.ts';
export { tokenCovariance, clipCovChoice, klCovChoice } from './cov-control.ts';
export { topPEntropy, topPKeepMask, peakEntropyMask, selectiveEntropy } from './siren.ts';
export { aepoPlan, aepoCompose } from './aepo.ts';
export { entrocraftBand, entrocraftAdvantages } from './entrocraft.ts';
export { ceehUpdateAccuracy, ceehHardSet, ceehUpdateShortest, ceehLengthReward, ceehEntropyCoef } from './ceeh.ts';
export { pearPenalty, pearReward, lengthReward, lengthBudgetReward, overlongPenalty } from './reward-shaping.ts';
export { entropyFromLogprobs, quantile, sg } from './tensor-ops.ts';
