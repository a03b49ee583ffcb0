// Learner NATS worker: scored (or rewarded) trajectories -> whole-group batches -> Trainer.step; each message is
// acknowledged only after the step that used it is persisted (exactly-once with the trained-id set).
import type { JetStreamClient } from '@nats-io/jetstream';
import { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { ConsumerName, consumeProto, runNames, type ConsumeLoop } from '../../src/platform/nats/index.ts';
import { withSpan } from '../../src/platform/telemetry/index.ts';
import { checkTrajectory } from '../../src/actors/index.ts';
import { RlmeshError, ErrorCategory } from '../../src/errors.ts';
import { GroupBatcher, type Pending } from './batcher.ts';
import type { Trainer } from './trainer.ts';

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

  /** Groups the batch filter rejected: acknowledged once their feedback is out, never trained on. */
  async function setAside(groups: Pending[][]) {
    const all = groups.flat();
    if (trainer.done) {
      trainer.unusedAfterEnd += all.length;
      for (const p of all) p.resolve();
      return;
    }
    try {
      await trainer.setAside(groups.map((g) => g.map((p) => p.trajectory)));
      for (const p of all) p.resolve();
    } catch (err) {
      for (const p of all) p.reject(err);
    }
  }

  async function runBatch(batch: Pending[]) {
    if (trainer.done) {
      trainer.unusedAfterEnd += batch.length;
      for (const p of batch) p.resolve();
      return;
    }
    // A redelivery that arrived while the step that trained its trajectory was running is in this batch: every
    // earlier step has finished now, so its id is in the trained set. It is acknowledged, never trained twice.
    const trained = trainer.deps.store.trained;
    const repeats = batch.filter((p) => trained.has(p.trajectory.trajectoryId));
    if (repeats.length > 0) {
      trainer.duplicates += repeats.length;
      for (const p of repeats) p.resolve();
      batch = batch.filter((p) => !trained.has(p.trajectory.trajectoryId));
      if (batch.length === 0) return;
    }
    try {
      const outcome = await trainer.step(batch.map((p) => p.trajectory), batch.map((p) => p.span));
      const rejected = new Map(outcome.rejected.map((r) => [r.trajectory.trajectoryId, r.reason]));
      for (const p of batch) {
        const reason = rejected.get(p.trajectory.trajectoryId);
        if (reason) p.reject(new RlmeshError(ErrorCategory.data, reason, { field: 'trajectory' }));
        else p.resolve();
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  const loop = consumeProto(deps.js, {
    stream: deps.withTeacher ? names.stages.scored.stream : names.stages.rewarded.stream,
    consumer: ConsumerName.learner,
    type: Trajectory,
    deadSubject: names.stages.dead.subject,
    batch: Math.min(256, deps.batchSize),
    concurrency: deps.batchSize * 2,
    onError: deps.onError,
    handler: async (t, ctx) => {
      if (trainer.deps.store.trained.has(t.trajectoryId)) {
        trainer.duplicates++;
        return;
      }
      // Malformed trajectories (shapes, NaN/Inf, token ids) are refused at ingest, so they are dead-lettered even
      // after the last step; one overlong trajectory would make the engine refuse its whole batch.
      const { learner } = trainer.deps;
      checkTrajectory(t, learner.needs, learner.model.config.vocab_size);
      const maxPositions = learner.model.config.max_position_embeddings;
      const len = t.promptTokenIds.length + t.completionTokenIds.length;
      if (len > maxPositions) {
        throw new RlmeshError(ErrorCategory.data, `trajectory: prompt + completion is ${len} tokens; max_position_embeddings is ${maxPositions}`, { field: 'trajectory.completion_token_ids' });
      }
      const attributes = { 'rlmesh.run_id': deps.runId, 'rlmesh.trajectory_id': t.trajectoryId, 'rlmesh.policy_version': t.policyVersion };
      await withSpan('learner.ingest', { attributes }, (span) => new Promise<void>((resolve, reject) => {
        const keepAlive = setInterval(() => ctx.working(), 5000);
        const finish = (f: () => void) => { clearInterval(keepAlive); f(); };
        batcher.add({ trajectory: t, span: span.spanContext(), resolve: () => finish(resolve), reject: (e) => finish(() => reject(e)) });
        setImmediate(() => void drain());
      }));
    },
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
