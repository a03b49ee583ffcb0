// Verifier NATS worker: Trajectory (rollouts) -> reward set (+ run-config shaping) -> rewarded, msgId
// `<trajectory_id>:verifier`. Batched: the messages of a pull are graded with one verifyBatch call, their rewarded
// copies published together and, once JetStream has acknowledged each, the inputs acked (consumeProto's batch
// mode). Each trajectory keeps its own spans: process rollouts -> verifier.verify -> publish rewarded. A trajectory
// without a task, or whose task id the generators cannot regenerate, is a data error: dead-lettered with the
// reason while the rest of its batch flows.
import { SpanKind } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { CompiledRunConfig } from '../../src/config/index.ts';
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';
import { Trajectory, type Reward } from '../../src/generated/rlmesh/v1/common.ts';
import {
  ConsumerName, consumeProto, publishProtoBatch, runNames, type BatchItem, type BatchPublishItem, type ConsumeLoop,
} from '../../src/platform/nats/index.ts';
import { contextWithSpan, isTelemetryActive, recordError, startSpan } from '../../src/platform/telemetry/index.ts';
import { verifyBatch, type CompiledRewardOptions, type Task, type VerifyInput } from '../../src/tasks/index.ts';
import { lengthBudgetOf, runRewardOptions, shapeReward, shapingSample, toRewardMessage } from './rewards.ts';

export interface VerifierWorkerDeps {
  js: JetStreamClient;
  runId: string;
  run: CompiledRunConfig;
  /** task id -> task, shared with the gRPC handlers */
  cache: Map<string, Task>;
  /** messages per pull, graded and published together; default 64 */
  batch?: number;
  /** batches in flight (one grades while another waits for its PubAcks); default 4 */
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

export type Graded = { ok: true; trajectory: Trajectory } | { ok: false; error: unknown };

/**
 * Grades trajectories (one verifyBatch call per distinct reward options, usually one) and sets each one's `reward`
 * in place; per trajectory, in order, it or why it cannot be graded (a data error naming the field).
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
        t.reward = shapeReward(deps.run, toRewardMessage(outcome.reward), shapingSample(t, outcome.reward, budgets[i]));
        out[i] = { ok: true, trajectory: t };
      } catch (error) {
        out[i] = { ok: false, error };
      }
    }
  }
  return out;
}

const emptyTrajectory = Trajectory.fromPartial({});

/**
 * The rewarded message as bytes: the received bytes with the encoded `reward` field appended. Protobuf parses a
 * repeated message field by merging, so for an input that carried no reward this is exactly the re-encoded
 * trajectory with `reward` set (unknown fields kept), without re-encoding its token and log-prob arrays.
 */
export function appendReward(received: Uint8Array, reward: Reward): Uint8Array {
  const field = Trajectory.encode({ ...emptyTrajectory, reward }).finish();
  const out = new Uint8Array(received.length + field.length);
  out.set(received);
  out.set(field, received.length);
  return out;
}

export function startVerifierWorker(deps: VerifierWorkerDeps): ConsumeLoop {
  const names = runNames(deps.runId);
  const subject = names.stages.rewarded.subject;
  const optionsFor = runRewardOptions(deps.run);

  async function handleBatch(items: readonly BatchItem<Trajectory>[]): Promise<PromiseSettledResult<unknown>[]> {
    const traced = isTelemetryActive();
    const spans = new Array<Span | undefined>(items.length);
    if (traced) {
      for (let i = 0; i < items.length; i++) {
        const { value: t, ctx } = items[i]!;
        spans[i] = startSpan('verifier.verify', {
          kind: SpanKind.INTERNAL,
          parent: contextWithSpan(ctx.span),
          attributes: {
            'rlmesh.run_id': deps.runId, 'rlmesh.task_id': t.task?.taskId ?? t.taskId, 'rlmesh.trajectory_id': t.trajectoryId,
            'rlmesh.policy_version': t.policyVersion,
          },
        });
      }
    }
    const unrewarded = items.map((it) => it.value.reward === undefined);
    const graded = rewardTrajectories(items.map((it) => it.value), deps, optionsFor);
    const outcomes = new Array<PromiseSettledResult<unknown>>(items.length);
    const toPublish: BatchPublishItem<Trajectory>[] = [];
    const at: number[] = [];
    for (let i = 0; i < graded.length; i++) {
      const g = graded[i]!;
      const span = spans[i];
      if (!g.ok) {
        outcomes[i] = { status: 'rejected', reason: g.error };
        if (span) recordError(span, g.error);
        continue;
      }
      const t = g.trajectory;
      if (span) {
        span.setAttribute('rlmesh.reward', t.reward!.total);
        span.setAttribute('rlmesh.correct', t.reward!.correct);
      }
      at.push(i);
      toPublish.push({
        value: t,
        ...(unrewarded[i] ? { data: appendReward(items[i]!.ctx.data, t.reward!) } : {}),
        msgId: `${t.trajectoryId}:verifier`,
        ...(span ? { parent: contextWithSpan(span), attributes: { 'rlmesh.trajectory_id': t.trajectoryId, 'rlmesh.run_id': deps.runId } } : {}),
      });
    }
    const published = await publishProtoBatch(deps.js, subject, Trajectory, toPublish);
    for (let k = 0; k < at.length; k++) {
      const i = at[k]!;
      const p = published[k]!;
      outcomes[i] = p;
      if (p.status === 'fulfilled') deps.onVerified?.(toPublish[k]!.value.reward!.correct);
      else if (spans[i]) recordError(spans[i]!, p.reason);
    }
    for (const span of spans) span?.end();
    return outcomes;
  }

  return consumeProto(deps.js, {
    stream: names.stages.rollouts.stream,
    consumer: ConsumerName.verifier,
    type: Trajectory,
    deadSubject: names.stages.dead.subject,
    batch: deps.batch ?? 64,
    concurrency: deps.concurrency ?? 4,
    onError: deps.onError,
    handleBatch,
  });
}
