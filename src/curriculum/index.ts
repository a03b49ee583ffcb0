// Public surface of src/curriculum: pure, seeded task samplers, schedules and the DAPO batch filter.
export type {
  Arm,
  ArmProbability,
  Curriculum,
  CurriculumControls,
  CurriculumFeedback,
  CurriculumLayer,
  CurriculumPartState,
  CurriculumSignal,
  CurriculumState,
  Json,
  TaskPick,
  TaskSampler,
} from './types.ts';
export type { CurriculumOptions, CurriculumSpec, MethodSpec } from './curriculum.ts';
export type { BatchFilterMethod, CurriculumContext, CurriculumMethod, LayerMethod, ParamsSchema, SamplerMethod } from './registry.ts';
export type { ArmKey } from './pool.ts';
export type { DynamicSamplingParams, DynamicSamplingStats, ScoredMember } from './dynamic-sampling.ts';
export { checkFeedback, createCurriculum, describeIssue, MAX_FEEDBACK_ADVANTAGE, parseMethodParams, restoreCurriculum } from './curriculum.ts';
export { curriculumFeedback, type GroupFeedback } from './feedback.ts';
export { curricula, batchFilters } from './registry.ts';
export { validatePool, MAX_ARM_SIZE } from './pool.ts';
export { Rng, softmax } from './rng.ts';
export { secUpdate, secProbabilities } from './sec.ts';
export { dumpUcb } from './dump.ts';
export { betaMean, curesProbabilities, curesQuota } from './cures.ts';
export { horizonAt } from './horizon.ts';
export { budgetAt } from './budget-schedule.ts';
export { lengthLadder } from './entropy-gated-length.ts';
export { DynamicSamplingFilter, filterStepMetrics, groupValues, keepGroup } from './dynamic-sampling.ts';
export { minPolicyVersionFor, type StalenessInputs } from './staleness.ts';
