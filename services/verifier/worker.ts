// Verifier NATS worker: TrajectoryBatch (rollouts) -> rewards set (+ run-config shaping) -> one TrajectoryBatch
// (rewarded) of the trajectories it could grade, published before the input is acked. It reads only what grading
// needs of each trajectory (a TrajectorySummary: no token or log-prob array is decoded), grades it against its task
// (from the shared cache, a miss regenerated from the id), and forwards it as its received bytes with the encoded
// reward (and its new trace context) appended; the messages of a pull are published in the same tick. Spans:
// `process rollouts` per message (from consumeProto) and `verifier.verify` per trajectory, in the trajectory's own trace. A trajectory without a task, or whose task id the generators cannot
// regenerate, is a data error: dead-lettered on its own with the reason while the rest of its batch flows on.
import type { Span } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { CompiledRunConfig } from '../../src/config/index.ts';
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';
import type { Reward } from '../../src/generated/rlmesh/v1/common.ts';
import {
  ConsumerName, consumeProto, publishTrajectoryBatch, runNames, trajectoryBatchSummaries,
  type BatchItem, type ConsumeLoop, type MessageContext, type TrajectorySummaries, type TrajectorySummary,
} from '../../src/platform/nats/index.ts';
import { isTelemetryActive, recordError } from '../../src/platform/telemetry/index.ts';
import { LENGTH_BUDGET_PARAM, resolveTask, type Task } from '../../src/tasks/index.ts';
import { deadLetterRefused, forwardTrajectories, trajectorySpan, type Forward, type Refused } from '../common/trajectory-stage.ts';
import { gradeCompletion, runRewardOptions, runShapes } from '../../src/actors/run-rewards.ts';

/** TrajectoryBatch messages a verifier pulls at once unless told otherwise. */
export const DEFAULT_PULL = 16;

export interface VerifierWorkerDeps {
  js: JetStreamClient;
  runId: string;
  run: CompiledRunConfig;
  /** task id -> task, shared with the gRPC handlers */
  cache: Map<string, Task>;
  /** TrajectoryBatch messages per pull, published together; default DEFAULT_PULL */
  batch?: number;
  /** pulls in flight (one grades while another waits for its PubAcks); default 2 */
  concurrency?: number;
  /** called once per message with the trajectories it published to rewarded and how many of them were correct */
  onVerified?: (items: number, correct: number) => void;
  onError?: (err: unknown) => void;
}

/** What the verifier grades of a trajectory (a TrajectorySummary). */
export type Gradable = Pick<TrajectorySummary, 'trajectoryId' | 'task' | 'completionText' | 'completionTokens' | 'entropies'>;

/**
 * The trajectory's task, regenerated from its id through the shared cache (answers never come from the wire); a data
 * error naming the field otherwise.
 */
function taskOf(t: Gradable, cache: Map<string, Task>): Task {
  if (t.trajectoryId === '') throw new RlmeshError(ErrorCategory.data, 'trajectory.trajectory_id: is required (it is the dedupe id)', { field: 'trajectory.trajectory_id' });
  if (!t.task) throw new RlmeshError(ErrorCategory.data, 'trajectory.task: is required (the verifier grades against it)', { field: 'trajectory.task' });
  try {
    return resolveTask({ taskId: t.task.taskId }, 'trajectory.task', cache);
  } catch (err) {
    // An id the generators cannot regenerate is bad data in this trajectory, never worth a redelivery.
    if (err instanceof RlmeshError) throw new RlmeshError(ErrorCategory.data, err.message, { field: err.field, cause: err });
    throw err;
  }
}

export type Graded = { ok: true; reward: Reward } | { ok: false; error: unknown };

/**
 * Grades trajectories: per trajectory, in order, its reward (run-config shaping applied) or why it cannot be graded (a
 * data error naming the field).
 */
export function rewardTrajectories(ts: readonly Gradable[], deps: Pick<VerifierWorkerDeps, 'run' | 'cache'>, optionsFor: ReturnType<typeof runRewardOptions>): Graded[] {
  const out = new Array<Graded>(ts.length);
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]!;
    try {
      out[i] = { ok: true, reward: gradeCompletion(deps.run, optionsFor, taskOf(t, deps.cache), t, t.task!.params) };
    } catch (error) {
      out[i] = { ok: false, error };
    }
  }
  return out;
}

export function startVerifierWorker(deps: VerifierWorkerDeps): ConsumeLoop {
  const names = runNames(deps.runId);
  const subject = names.stages.rewarded.subject;
  const source = { stream: names.stages.rollouts.stream, consumer: ConsumerName.verifier, deadSubject: names.stages.dead.subject };
  const optionsFor = runRewardOptions(deps.run);
  const traced = isTelemetryActive();

  /** One message's outcome once graded: its rewarded batch published and its refused trajectories dead-lettered. */
  async function settle(batch: TrajectorySummaries, graded: readonly Graded[], ctx: MessageContext, spans: Span[] | undefined): Promise<void> {
    const ts = batch.summaries;
    const forwards: Forward[] = [];
    let correct = 0;
    const refused: Refused[] = [];
    try {
      for (let i = 0; i < graded.length; i++) {
        const g = graded[i]!;
        if (!g.ok) {
          refused.push({ index: i, error: g.error });
          continue;
        }
        const span = spans?.[i];
        if (span?.isRecording()) span.setAttributes({ 'rlmesh.reward': g.reward.total, 'rlmesh.correct': g.reward.correct });
        forwards.push({ t: ts[i]!, encoded: batch.encoded[i]!, span, fields: { reward: g.reward } });
        if (g.reward.correct) correct++;
      }
      const out = forwardTrajectories(forwards);
      // The message is acked only once every trajectory is stored on rewarded or dead-lettered.
      await Promise.all([
        deadLetterRefused(deps.js, ctx, source, ts, batch.encoded, refused, spans),
        publishTrajectoryBatch(deps.js, subject, out, { stage: 'verifier' }),
      ]);
      deps.onVerified?.(out.length, correct);
    } catch (err) {
      if (spans) for (const span of spans) recordError(span, err);
      throw err;
    } finally {
      if (spans) for (const span of spans) span.end();
    }
  }

  /**
   * The messages of a pull: each graded and its output published in the same tick (one socket write); consumeProto
   * then acks the inputs together.
   */
  function handleBatch(items: readonly BatchItem<TrajectorySummaries>[]): Promise<PromiseSettledResult<unknown>[]> {
    return Promise.allSettled(items.map(({ value, ctx }) => {
      const spans = traced ? value.summaries.map((t) => trajectorySpan('verifier.verify', t, ctx, deps.runId)) : undefined;
      const graded = rewardTrajectories(value.summaries, deps, optionsFor);
      for (const [i, error] of value.undecodable) graded[i] = { ok: false, error }; // its bytes are no Trajectory
      return settle(value, graded, ctx, spans);
    }));
  }

  return consumeProto(deps.js, {
    stream: source.stream,
    consumer: source.consumer,
    // Only what grading needs is read: the length budget of the task's params, entropies when the run shapes rewards,
    // trace contexts while tracing.
    type: trajectoryBatchSummaries({ entropies: runShapes(deps.run), traceContext: traced, taskParams: [LENGTH_BUDGET_PARAM] }),
    deadSubject: source.deadSubject,
    batch: deps.batch ?? DEFAULT_PULL,
    concurrency: deps.concurrency ?? 2,
    onError: deps.onError,
    handleBatch,
  });
}
