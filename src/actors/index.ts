// Public surface of src/actors: what each actor computes, independent of gRPC and NATS.
export type { Policy } from './policy.ts';
export type { RolloutRequest } from './rollout.ts';
export type { Teacher, TeacherScoreOptions } from './teacher.ts';
export type { LearnerOptions, StepOutcome } from './learner.ts';
export type { TeacherNeeds } from './learner-batch.ts';
export type { EvaluateOptions, Evaluation } from './evaluate.ts';
export type { LocalLoopOptions, LoopTotals } from './local-loop.ts';
export { encodePrompt, encodePrivilegedPrompt, hashSeed, loadPolicy, withPrivilegedContext } from './policy.ts';
export { chunkByRows, datasetGroups, rolloutGroup, rolloutGroups, sampleGroups, samplingCompatible, DEFAULT_SAMPLING, MAX_BATCH_SEQUENCES, type Samplers } from './rollout.ts';
export { prefixSourceFor, unitHash, usesTeacherPrefixes, type PrefixSource } from '../objectives/index.ts';
export { scoreTrajectories, teacherPrompt } from './teacher.ts';
export { Learner, batchMetrics, learnerOptionsFor, maxLoopSteps, taskFeedback } from './learner.ts';
export { teacherNeeds, checkTokens, checkTrajectory, objectiveUsesRewards } from './learner-batch.ts';
export { evaluatePolicy } from './evaluate.ts';
export { runLocalLoop } from './local-loop.ts';
export { runGrader } from './run-rewards.ts';
export { sftExample, sftStep } from './sft.ts';
