// Rollout NATS worker: RolloutTask (tasks) -> G trajectories each. The groups a worker holds at once are sampled
// together in one batched generate call (GroupBatcher) and published as ONE TrajectoryBatch (rollouts) of whole
// groups, its Nats-Msg-Id derived from the trajectory ids (a retried publish is deduplicated); each task is acked
// after that publish. Spans: `process tasks` and `rollout.generate` per group (each trajectory's trace_context points
// at its group's rollout.generate span), and `publish rollouts` per message (its own trace, linking the groups).
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import { MAX_BATCH_SEQUENCES, sampleGroups, samplingCompatible, type Policy, type PrefixSource } from '../../src/actors/index.ts';
import { RolloutTask, Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { ConsumerName, consumeProto, publishTrajectoryBatch, retryTransient, runNames, type ConsumeLoop } from '../../src/platform/nats/index.ts';
import { isTelemetryActive, linksTo, spanContextFromMap, traceContextMap, withSpan } from '../../src/platform/telemetry/index.ts';
import { check, requireInRange, requirePresent } from '../../src/platform/grpc/index.ts';
import { checkPrompt, checkSampling } from '../common/validate.ts';
import { GroupBatcher, type BatchStats } from './batcher.ts';

/** A task from the wire is checked like a Generate request (a forged group size or sampling must not run). */
export function validateRolloutTask(task: RolloutTask, policy: Pick<Policy, 'model' | 'tokenizer'>): void {
  check(task.dispatchId.length > 0 && task.dispatchId.length <= 256, 'dispatch_id', 'must be 1..256 characters');
  requirePresent(task.task, 'task');
  checkPrompt(task.task!.prompt, policy, 'task.prompt');
  requireInRange(task.groupSize, 'group_size', { min: 1, max: 256, integer: true });
  requirePresent(task.sampling, 'sampling');
  checkSampling(task.sampling!, 'sampling');
}

export interface RolloutWorkerDeps {
  js: JetStreamClient;
  runId: string;
  workerId: string;
  policy: Policy;
  /** The teacher's weights, when some groups' completions come from the teacher (mode sft, GKD with seq_kd). */
  teacher?: Pick<Policy, 'model' | 'tokenizer'>;
  /** Who writes a group's completions (prefixSourceFor); default the student. */
  prefixSource?: (groupId: string) => PrefixSource;
  /** Resolves once the worker serves at least `version` (PolicySync.waitFor). */
  waitForPolicy?: (version: number, signal?: AbortSignal) => Promise<void>;
  /** Rows per generate call at most (default 32). */
  maxBatchSequences?: number;
  /** Tasks pulled and held at once (default 1); the groups held are sampled together (see pullSizeFor). */
  tasksPerPull?: number;
  /**
   * How long a pulled group waits for others to join its generate call, ms (default 20): after a call, the groups
   * it held finish publishing one by one and the next ones are admitted as they do; a call starts at once when
   * tasksPerPull groups (or maxBatchSequences rows) are waiting.
   */
  lingerMs?: number;
  /** Called after each group with the number of completion tokens generated and the time it took. */
  onGroup?: (tokens: number, ms: number) => void;
  /** Called after each generate call with the groups and sequences it sampled. */
  onBatch?: (stats: BatchStats) => void;
  onError?: (err: unknown) => void;
}

/**
 * Tasks a worker pulls and holds at once: enough groups to fill one generate call (maxSequences / group size), but
 * no more than its share of the groups the controller keeps in flight, so one worker does not take every task
 * while another idles.
 */
export function pullSizeFor(o: { groupSize: number; maxInFlight: number; workers: number; maxSequences?: number }): number {
  const fill = Math.floor((o.maxSequences ?? MAX_BATCH_SEQUENCES) / Math.max(1, o.groupSize));
  const share = Math.ceil(o.maxInFlight / Math.max(1, o.workers));
  return Math.max(1, Math.min(fill, share));
}

export function startRolloutWorker(deps: RolloutWorkerDeps): ConsumeLoop {
  const names = runNames(deps.runId);
  const maxSequences = deps.maxBatchSequences ?? MAX_BATCH_SEQUENCES;
  const tasksPerPull = Math.max(1, Math.floor(deps.tasksPerPull ?? 1));
  const subject = names.stages.rollouts.subject;

  /** One generate call's groups as one TrajectoryBatch; retried across a short broker outage (deduplicated). */
  async function publish(groups: Trajectory[][]): Promise<void> {
    const ts = groups.flat();
    const items = ts.map((t) => ({ id: t.trajectoryId, data: Trajectory.encode(t).finish() }));
    const sampled = (g: Trajectory[]) => {
      const sc = spanContextFromMap(g[0]?.traceContext);
      return sc && sc.traceFlags & 1 ? sc : undefined;
    };
    const attributes = {
      'messaging.system': 'nats', 'messaging.operation.type': 'send', 'messaging.destination.name': subject,
      'rlmesh.run_id': deps.runId, 'rlmesh.groups': groups.length, 'rlmesh.trajectories': ts.length,
    };
    // The message is the root of its own trace (it serves several group traces); it links to each group's span.
    await withSpan(`publish ${subject}`, { kind: SpanKind.PRODUCER, parent: ROOT_CONTEXT, attributes, links: isTelemetryActive() ? linksTo(groups.map(sampled)) : undefined }, () =>
      retryTransient(() => publishTrajectoryBatch(deps.js, subject, items, { stage: 'rollout' }), {
        maxMs: 20_000, onRetry: (e) => deps.onError?.(e),
      }));
  }

  const batcher = new GroupBatcher({
    generate: (reqs) => sampleGroups({ student: deps.policy, teacher: deps.teacher }, reqs, (r) => deps.prefixSource?.(r.groupId) ?? 'student'),
    publish,
    compatible: (a, b) => samplingCompatible(a.sampling, b.sampling),
    maxSequences,
    maxGroups: tasksPerPull,
    lingerMs: deps.lingerMs ?? 20,
    onBatch: deps.onBatch,
  });
  return consumeProto(deps.js, {
    stream: names.stages.tasks.stream,
    consumer: ConsumerName.rollout,
    type: RolloutTask,
    deadSubject: names.stages.dead.subject,
    batch: tasksPerPull,
    concurrency: tasksPerPull,
    onError: deps.onError,
    handler: async (task, ctx) => {
      validateRolloutTask(task, deps.policy);
      if (deps.waitForPolicy && deps.policy.version < task.minPolicyVersion) {
        // Sample with a recent enough policy; give up waiting after 30 s rather than hold the task forever.
        const keepAlive = setInterval(() => ctx.working(), 2000);
        const timeout = AbortSignal.timeout(30_000);
        await deps.waitForPolicy(task.minPolicyVersion, AbortSignal.any([ctx.signal, timeout])).catch(() => undefined).finally(() => clearInterval(keepAlive));
      }
      const attributes = { 'rlmesh.run_id': deps.runId, 'rlmesh.task_id': task.task?.taskId ?? '' };
      await withSpan('rollout.generate', { kind: SpanKind.INTERNAL, attributes }, async (span) => {
        const t0 = performance.now();
        // Generation and the batch's publish may outlast ack_wait while other groups wait for the same call.
        const keepAlive = setInterval(() => ctx.working(), 2000);
        let trajectories: Trajectory[];
        try {
          // The policy cannot change during the (synchronous) generate call; the version is the one sampled with.
          trajectories = await batcher.submit({
            runId: deps.runId, groupId: task.dispatchId, task: task.task!, sampling: task.sampling!, // required by validateRolloutTask
            groupSize: task.groupSize, workerId: deps.workerId, dispatchIndex: task.dispatchIndex,
            // Each trajectory's trace continues from this span (also when unsampled: downstream keeps the decision).
            traceContext: isTelemetryActive() ? traceContextMap() : undefined,
          }, () => ctx.working());
        } finally {
          clearInterval(keepAlive);
        }
        const tokens = trajectories.reduce((a, t) => a + t.completionTokenIds.length, 0);
        span.setAttribute('rlmesh.policy_version', trajectories[0]?.policyVersion ?? deps.policy.version);
        span.setAttribute('rlmesh.completion_tokens', tokens);
        deps.onGroup?.(tokens, performance.now() - t0);
      });
    },
  });
}
