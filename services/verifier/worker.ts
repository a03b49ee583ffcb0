// Verifier NATS worker: Trajectory (rollouts) -> reward set (+ run-config shaping) -> rewarded, msgId
// `<trajectory_id>:verifier`; consumeProto acks after the publish. A trajectory without a task, or whose task id
// the generators cannot regenerate, is a data error: dead-lettered with the reason while later ones flow.
import { SpanKind } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { CompiledRunConfig } from '../../src/config/index.ts';
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';
import { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { ConsumerName, consumeProto, publishProto, runNames, type ConsumeLoop } from '../../src/platform/nats/index.ts';
import { withSpan } from '../../src/platform/telemetry/index.ts';
import { verifyBatch, type Task } from '../../src/tasks/index.ts';
import { lengthBudgetOf, runRewardOptions, shapeReward, shapingSample, toRewardMessage } from './rewards.ts';

export interface VerifierWorkerDeps {
  js: JetStreamClient;
  runId: string;
  run: CompiledRunConfig;
  /** task id -> task, shared with the gRPC handlers */
  cache: Map<string, Task>;
  /** messages per pull; default 64 */
  batch?: number;
  /** handlers in flight (their publishes pipeline); default 64 */
  concurrency?: number;
  onVerified?: (correct: boolean) => void;
  onError?: (err: unknown) => void;
}

/** The trajectory's task, regenerated from its id (answers never come from the wire); data error otherwise. */
function taskIdOf(t: Trajectory): string {
  if (t.trajectoryId === '') throw new RlmeshError(ErrorCategory.data, 'trajectory.trajectory_id: is required (it is the dedupe id)', { field: 'trajectory.trajectory_id' });
  if (!t.task) throw new RlmeshError(ErrorCategory.data, 'trajectory.task: is required (the verifier grades against it)', { field: 'trajectory.task' });
  return t.task.taskId;
}

/** Grades one trajectory and returns it with `reward` set. */
export function rewardTrajectory(t: Trajectory, deps: Pick<VerifierWorkerDeps, 'run' | 'cache'>, optionsFor: ReturnType<typeof runRewardOptions>): Trajectory {
  const taskId = taskIdOf(t);
  const budget = lengthBudgetOf(t.task!.params, 'trajectory.task');
  const [outcome] = verifyBatch([{ taskId, completion: t.completionText, completionTokens: t.completionTokenIds.length }], optionsFor(budget), deps.cache);
  if (!outcome!.ok) {
    const e = outcome!.error;
    const field = 'trajectory.task.task_id';
    throw new RlmeshError(ErrorCategory.data, `${field}: ${e.message.replace(/^items\[0\]\.task_id: /, '')}`, { field, cause: e });
  }
  const reward = shapeReward(deps.run, toRewardMessage(outcome!.reward), shapingSample(t, outcome!.reward, budget));
  return { ...t, reward };
}

export function startVerifierWorker(deps: VerifierWorkerDeps): ConsumeLoop {
  const names = runNames(deps.runId);
  const optionsFor = runRewardOptions(deps.run);
  return consumeProto(deps.js, {
    stream: names.stages.rollouts.stream,
    consumer: ConsumerName.verifier,
    type: Trajectory,
    deadSubject: names.stages.dead.subject,
    batch: deps.batch ?? 64,
    concurrency: deps.concurrency ?? 64,
    onError: deps.onError,
    handler: async (t) => {
      const attributes = {
        'rlmesh.run_id': deps.runId, 'rlmesh.task_id': t.task?.taskId ?? t.taskId, 'rlmesh.trajectory_id': t.trajectoryId,
        'rlmesh.policy_version': t.policyVersion,
      };
      await withSpan('verifier.verify', { kind: SpanKind.INTERNAL, attributes }, async (span) => {
        const rewarded = rewardTrajectory(t, deps, optionsFor);
        span.setAttribute('rlmesh.reward', rewarded.reward!.total);
        span.setAttribute('rlmesh.correct', rewarded.reward!.correct);
        await publishProto(deps.js, names.stages.rewarded.subject, Trajectory, rewarded, {
          msgId: `${t.trajectoryId}:verifier`,
          attributes: { 'rlmesh.trajectory_id': t.trajectoryId, 'rlmesh.run_id': deps.runId },
        });
        deps.onVerified?.(rewarded.reward!.correct);
      });
    },
  });
}
