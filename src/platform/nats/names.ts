// The one place that knows rlmesh's NATS naming: subjects, streams, durable consumers, the weights bucket.
import { invalidField } from '../../errors.ts';

export const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The stages of a run, each one subject + one stream. */
export const Stage = {
  tasks: 'tasks',
  rollouts: 'rollouts',
  rewarded: 'rewarded',
  scored: 'scored',
  feedback: 'feedback',
  metrics: 'metrics',
  weights: 'weights',
  dead: 'dead',
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

/** Durable consumer names (docs/conventions.md). */
export const ConsumerName = {
  rollout: 'rollout',
  verifier: 'verifier',
  teacher: 'teacher',
  learner: 'learner',
  controller: 'controller',
  gateway: 'gateway',
} as const;
export type ConsumerName = (typeof ConsumerName)[keyof typeof ConsumerName];

export interface StageNames {
  subject: string;
  stream: string;
}

export interface RunNames {
  runId: string;
  /** `<RUN>`: run id upper-cased with `-` -> `_` */
  token: string;
  stages: Record<Stage, StageNames>;
  /** object store bucket for weights */
  weightsBucket: string;
  /** object name of weights version v */
  weightsObject(version: number): string;
}

/** Throws a config error naming `run_id` unless runId matches `[A-Za-z0-9_-]{1,64}`. */
export function validateRunId(runId: string): string {
  if (typeof runId !== 'string' || !RUN_ID_PATTERN.test(runId)) {
    throw invalidField('run_id', `must match ${RUN_ID_PATTERN.source}, got ${JSON.stringify(runId)}`);
  }
  return runId;
}

export function runNames(runId: string): RunNames {
  validateRunId(runId);
  const token = runId.toUpperCase().replace(/-/g, '_');
  const stages = Object.fromEntries(
    Object.values(Stage).map((s) => [s, { subject: `rlmesh.${runId}.${s}`, stream: `RLMESH_${token}_${s.toUpperCase()}` }]),
  ) as Record<Stage, StageNames>;
  return {
    runId,
    token,
    stages,
    weightsBucket: `rlmesh-weights-${runId}`,
    weightsObject: (version: number) => `policy-v${version}.safetensors`,
  };
}
