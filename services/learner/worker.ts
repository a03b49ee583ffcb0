// Learner NATS worker: TrajectoryBatch messages (scored, or rewarded) split into trajectories -> whole-group batches
// -> Trainer.step. A message is acknowledged only once each of its trajectories settled: trained in a persisted step,
// skipped as already trained, or dead-lettered on its own (malformed); a transient failure naks it, and the trained-id
// set skips on redelivery what it already trained (exactly once). Spans: `process scored` per message and
// `learner.ingest` per trajectory, in the trajectory's own trace (learner.step links them).
import type { Span } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { ConsumerName, consumeProto, isPermanentError, runNames, TrajectoryBatchParts, type ConsumeLoop, type MessageContext, type TrajectoryParts } from '../../src/platform/nats/index.ts';
import { recordError } from '../../src/platform/telemetry/index.ts';
import type { Learner } from '../../src/actors/index.ts';
import { RlmeshError, ErrorCategory } from '../../src/errors.ts';
import { deadLetterRefused, trajectorySpan, type Refused } from '../common/trajectory-stage.ts';
import { GroupBatcher, type Pending } from './batcher.ts';
import { isAfterEnd, type Trainer } from './trainer.ts';

export interface LearnerWorkerDeps {
  js: JetStreamClient;
  runId: string;
  trainer: Trainer;
  batchSize: number;
  /** Consume `scored` (a teacher is in the run) or `rewarded`. */
  withTeacher: boolean;
  onError?: (err: unknown) => void;
}

export function startLearnerWorker(deps: LearnerWorkerDeps): { loop: ConsumeLoop; stop(): Promise<void> } {
  const names = runNames(deps.runId);
  const { trainer } = deps;
  const filter = trainer.deps.filter;
  const batcher = new GroupBatcher(deps.batchSize, undefined, filter ? (group) => filter.admit(group) : undefined);
  let stepping = false;

  async function drain() {
    if (stepping) return;
    stepping = true;
    try {
      for (;;) {
        const filtered = batcher.takeFiltered();
        if (filtered.length > 0) await setAside(filtered);
        const batch = batcher.take();
        if (!batch) break;
        await runBatch(batch);
      }
    } finally {
      stepping = false;
    }
  }

  /** After the last step, trajectories are acknowledged unused (and counted); true when that happened. */
  function ackedAfterEnd(ps: Pending[]): boolean {
    // (a learner whose last step's checkpoint failed is "done" in memory only: its trajectories must go back)
    if (!trainer.done || trainer.isBroken) return false;
    trainer.unusedAfterEnd += ps.length;
    for (const p of ps) p.resolve();
    return true;
  }

  /** Groups the batch filter rejected: acknowledged once their feedback is out, never trained on. */
  async function setAside(groups: Pending[][]) {
    const all = groups.flat();
    if (ackedAfterEnd(all)) return;
    try {
      await trainer.setAside(groups.map((g) => g.map((p) => p.trajectory)));
      for (const p of all) p.resolve();
    } catch (err) {
      for (const p of all) p.reject(err);
    }
  }

  async function runBatch(batch: Pending[]) {
    if (ackedAfterEnd(batch)) return;
    try {
      // The step skips (and the worker then acknowledges) trajectories already trained: a redelivery that arrived while
      // the step that trained it ran, never trained twice.
      const outcome = await trainer.step(batch.map((p) => p.trajectory), batch.map((p) => p.span), false, true);
      const rejected = new Map(outcome.rejected.map((r) => [r.trajectory.trajectoryId, r.reason]));
      for (const p of batch) {
        const reason = rejected.get(p.trajectory.trajectoryId);
        if (reason) p.reject(new RlmeshError(ErrorCategory.data, reason, { field: 'trajectory' }));
        else p.resolve();
      }
    } catch (err) {
      // A gRPC Step trained the run's last step while this batch waited: acknowledged unused, as after the end.
      if (isAfterEnd(err) && ackedAfterEnd(batch)) return;
      for (const p of batch) p.reject(err);
    }
  }

  const source = {
    stream: deps.withTeacher ? names.stages.scored.stream : names.stages.rewarded.stream,
    consumer: ConsumerName.learner,
    deadSubject: names.stages.dead.subject,
  };

  /** Settles when every trajectory of the message did (see the top of the file); throws to nak it. */
  async function handle(batch: TrajectoryParts, ctx: MessageContext): Promise<void> {
    const { learner } = trainer.deps;
    const refused: Refused[] = [];
    const spans: Array<Span | undefined> = [];
    const waiting: Array<{ index: number; settled: Promise<void> }> = [];
    batch.trajectories.forEach((t, index) => {
      const undecodable = batch.undecodable.get(index);
      if (undecodable) {
        refused.push({ index, error: undecodable });
        return;
      }
      if (trainer.deps.store.trained.has(t.trajectoryId)) {
        trainer.duplicates++;
        return;
      }
      // Malformed trajectories (shapes, NaN/Inf, token ids) are refused at ingest, so they are dead-lettered even
      // after the last step; one overlong trajectory would make the engine refuse its whole batch.
      const problem = ingestProblem(t, learner);
      if (problem) {
        refused.push({ index, error: problem });
        return;
      }
      const span = trajectorySpan('learner.ingest', t, ctx, deps.runId);
      spans[index] = span;
      const settled = new Promise<void>((resolve, reject) => {
        batcher.add({ trajectory: t, span: span.isRecording() ? span.spanContext() : undefined, resolve, reject });
      });
      waiting.push({ index, settled });
    });
    if (waiting.length > 0) setImmediate(() => void drain());
    const keepAlive = setInterval(() => ctx.working(), 5000);
    try {
      const outcomes = await Promise.allSettled(waiting.map((w) => w.settled));
      let retry: unknown;
      outcomes.forEach((o, k) => {
        if (o.status === 'fulfilled') return;
        const { index } = waiting[k]!;
        // The step refused this trajectory (a data error): its own dead letter. Anything else: the message is retried,
        // except on its last delivery, where each unsettled trajectory is dead-lettered on its own (the whole message
        // would carry trajectories already trained, or already dead-lettered, into the dead letter too).
        if (isPermanentError(o.reason) || ctx.lastDelivery) refused.push({ index, error: o.reason });
        else {
          retry ??= o.reason;
          recordError(spans[index]!, o.reason);
        }
      });
      await deadLetterRefused(deps.js, ctx, source, batch.trajectories, batch.encoded, refused, spans);
      if (retry !== undefined) throw retry;
    } finally {
      clearInterval(keepAlive);
      for (const span of spans) span?.end();
    }
  }

  const loop = consumeProto(deps.js, {
    ...source,
    type: TrajectoryBatchParts,
    // Messages, each of several trajectories; a step waits for whole groups, possibly across messages.
    batch: Math.min(256, deps.batchSize),
    concurrency: deps.batchSize * 2,
    onError: deps.onError,
    handler: handle,
  });

  // Incomplete groups time out even when no new trajectory arrives; an outbox left by a publish that gave up
  // (a broker outage longer than the retry budget) is retried even when no new step comes.
  const timer = setInterval(() => {
    void drain();
    trainer.retryOutbox().catch((e: unknown) => deps.onError?.(e));
  }, 5000);
  timer.unref();
  return {
    loop,
    async stop() {
      clearInterval(timer);
      const stopped = loop.stop();
      // Waiting trajectories are handed back (nak) so another learner process trains them after a restart.
      batcher.failAll(new RlmeshError(ErrorCategory.transport, 'learner stopping'));
      await stopped;
    },
  };
}

/** Why the learner cannot train on t (a data error naming the field), or undefined. */
function ingestProblem(t: Trajectory, learner: Learner): unknown {
  try {
    learner.check(t);
    return undefined;
  } catch (err) {
    return err;
  }
}
