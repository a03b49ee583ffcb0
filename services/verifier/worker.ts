// Verifier NATS worker: TrajectoryBatch (rollouts) -> rewards set (+ run-config shaping) -> one TrajectoryBatch
// (rewarded) of the trajectories it could grade, published before the input is acked. Every trajectory of a message
// is graded in one verifyBatch call and forwarded as its received bytes with the encoded reward (and its new trace
// context) appended, never re-encoding its token and log-prob arrays. Spans: `process rollouts` per message (from
// consumeProto) and `verifier.verify` per trajectory, in the trajectory's own trace. A trajectory without a task,
// or whose task id the generators cannot regenerate, is a data error: dead-lettered on its own with the reason
// while the rest of its batch flows on.
import type { Span } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { CompiledRunConfig } from '../../src/config/index.ts';
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';
import type { Reward, Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import {
  ConsumerName, consumeProto, publishTrajectoryBatch, runNames, TrajectoryBatchParts, type ConsumeLoop, type EncodedTrajectory,
  type MessageContext, type TrajectoryParts,
} from '../../src/platform/nats/index.ts';
import { isTelemetryActive, recordError } from '../../src/platform/telemetry/index.ts';
import { verifyBatch, type CompiledRewardOptions, type Task, type VerifyInput } from '../../src/tasks/index.ts';
import { deadLetterRefused, forwardTrajectory, trajectorySpan, type Refused } from '../common/trajectory-stage.ts';
import { lengthBudgetOf, runRewardOptions, shapeReward, shapingSample, toRewardMessage } from './rewards.ts';

export interface VerifierWorkerDeps {
  js: JetStreamClient;
  runId: string;
  run: CompiledRunConfig;
  /** task id -> task, shared with the gRPC handlers */
  cache: Map<string, Task>;
  /** TrajectoryBatch messages per pull; default 4 */
  batch?: number;
  /** messages in flight (one grades while another waits for its PubAck); default 4 */
  concurrency?: number;
  /** called once per trajectory published to rewarded */
  onVerified?: (correct: boolean) => void;
  onError?: (err: unknown) => void;
}

/** The trajectory's task, regenerated from its id (answers never come from the wire); data error otherwise. */
function taskIdOf(t: Trajectory): string {
  if (t.trajectoryId === '') throw new RlmeshError(ErrorCategory.data, 'trajectory.trajectory_id: is required (it is the dedupe id)', { field: 'trajectory.trajectory_id' });
  if (!t.task) throw new RlmeshError(ErrorCategory.data, 'trajectory.task: is required (the verifier grades against it)', { field: 'trajectory.task' });
  return t.task.taskId;
}

export type Graded = { ok: true; reward: Reward } | { ok: false; error: unknown };

/**
 * Grades trajectories (one verifyBatch call per distinct reward options, usually one): per trajectory, in order, its
 * reward (run-config shaping applied) or why it cannot be graded (a data error naming the field).
 */
export function rewardTrajectories(ts: readonly Trajectory[], deps: Pick<VerifierWorkerDeps, 'run' | 'cache'>, optionsFor: ReturnType<typeof runRewardOptions>): Graded[] {
  const out = new Array<Graded>(ts.length);
  const budgets = new Array<number | undefined>(ts.length);
  const groups = new Map<CompiledRewardOptions, { at: number[]; inputs: VerifyInput[] }>();
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]!;
    try {
      const taskId = taskIdOf(t);
      const budget = lengthBudgetOf(t.task!.params, 'trajectory.task');
      const options = optionsFor(budget);
      budgets[i] = budget;
      let g = groups.get(options);
      if (!g) groups.set(options, (g = { at: [], inputs: [] }));
      g.at.push(i);
      g.inputs.push({ taskId, completion: t.completionText, completionTokens: t.completionTokenIds.length });
    } catch (error) {
      out[i] = { ok: false, error };
    }
  }
  for (const [options, g] of groups) {
    const outcomes = verifyBatch(g.inputs, options, deps.cache);
    for (let k = 0; k < g.at.length; k++) {
      const i = g.at[k]!;
      const t = ts[i]!;
      const outcome = outcomes[k]!;
      if (!outcome.ok) {
        const field = 'trajectory.task.task_id';
        const e = outcome.error;
        out[i] = { ok: false, error: new RlmeshError(ErrorCategory.data, `${field}: ${e.message.replace(/^items\[\d+\]\.task_id: /, '')}`, { field, cause: e }) };
        continue;
      }
      try {
        out[i] = { ok: true, reward: shapeReward(deps.run, toRewardMessage(outcome.reward), shapingSample(t, outcome.reward, budgets[i])) };
      } catch (error) {
        out[i] = { ok: false, error };
      }
    }
  }
  return out;
}

export function startVerifierWorker(deps: VerifierWorkerDeps): ConsumeLoop {
  const names = runNames(deps.runId);
  const subject = names.stages.rewarded.subject;
  const source = { stream: names.stages.rollouts.stream, consumer: ConsumerName.verifier, deadSubject: names.stages.dead.subject };
  const optionsFor = runRewardOptions(deps.run);

  async function handle(batch: TrajectoryParts, ctx: MessageContext): Promise<void> {
    const ts = batch.trajectories;
    const spans = isTelemetryActive() ? ts.map((t) => trajectorySpan('verifier.verify', t, ctx, deps.runId)) : undefined;
    try {
      const graded = rewardTrajectories(ts, deps, optionsFor);
      const out: EncodedTrajectory[] = [];
      const correct: boolean[] = [];
      const refused: Refused[] = [];
      for (let i = 0; i < graded.length; i++) {
        const g = graded[i]!;
        if (!g.ok) {
          refused.push({ index: i, error: g.error });
          continue;
        }
        const t = ts[i]!;
        const span = spans?.[i];
        if (span?.isRecording()) span.setAttributes({ 'rlmesh.reward': g.reward.total, 'rlmesh.correct': g.reward.correct });
        out.push({ id: t.trajectoryId, data: forwardTrajectory(batch.encoded[i]!, t, span, { reward: g.reward }) });
        correct.push(g.reward.correct);
      }
      // The message is acked only once every trajectory is stored on rewarded or dead-lettered.
      await Promise.all([deadLetterRefused(deps.js, ctx, source, batch, refused, spans), publishTrajectoryBatch(deps.js, subject, out, { stage: 'verifier' })]);
      if (deps.onVerified) for (const c of correct) deps.onVerified(c);
    } catch (err) {
      if (spans) for (const span of spans) recordError(span, err);
      throw err;
    } finally {
      if (spans) for (const span of spans) span.end();
    }
  }

  return consumeProto(deps.js, {
    stream: source.stream,
    consumer: source.consumer,
    type: TrajectoryBatchParts,
    deadSubject: source.deadSubject,
    batch: deps.batch ?? 4,
    concurrency: deps.concurrency ?? 4,
    onError: deps.onError,
    handler: handle,
  });
}

