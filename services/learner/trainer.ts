// The learner's step pipeline, shared by the NATS worker and the gRPC Step method: train, persist, publish
// weights, metrics and per-task feedback. One step at a time (steps are queued).
import { ROOT_CONTEXT, SpanKind, type SpanContext } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import { encodeSafetensors } from '../../src/engine/safetensors.ts';
import type { CharTokenizer } from '../../src/engine/tokenizer.ts';
import type { Learner, StepOutcome } from '../../src/actors/index.ts';
import { MetricsEvent, TaskFeedback, WeightsAnnouncement, type Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { publishProto, retryTransient, runNames, sha256Hex, type WeightStore } from '../../src/platform/nats/index.ts';
import { linksTo, withSpan } from '../../src/platform/telemetry/index.ts';
import type { LearnerStateStore } from './state-store.ts';
import path from 'node:path';

export interface TrainerDeps {
  js: JetStreamClient;
  runId: string;
  learner: Learner;
  tokenizer: CharTokenizer;
  store: LearnerStateStore;
  weights: WeightStore;
  publishEvery: number;
  checkpointEvery: number;
  /** Stop training after this many steps (later trajectories are acknowledged unused). */
  maxSteps: number;
  log(m: string): void;
  onStep?(outcome: StepOutcome, event: MetricsEvent): void;
  /** Held-out greedy accuracy of the current weights, measured every `every` steps (and at the last step). */
  heldout?: { every: number; measure(): number };
}

export class Trainer {
  private queue: Promise<unknown> = Promise.resolve();
  private lastStepAt = performance.now();
  duplicates = 0;
  unusedAfterEnd = 0;

  constructor(readonly deps: TrainerDeps) {}

  get done(): boolean {
    return this.deps.learner.step >= this.deps.maxSteps;
  }

  /** Runs `fn` in the step queue (never during a step or another queued job, e.g. a checkpoint save). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Queues one step; resolves with its outcome after the state is persisted and announced. */
  step(trajectories: Trajectory[], spans: Array<SpanContext | undefined> = []): Promise<StepOutcome> {
    const run = this.queue.then(() => this.runStep(trajectories, spans));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runStep(trajectories: Trajectory[], spans: Array<SpanContext | undefined>): Promise<StepOutcome> {
    const { learner, store, runId } = this.deps;
    const attributes = { 'rlmesh.run_id': runId, 'rlmesh.step': learner.step + 1, 'rlmesh.trajectories': trajectories.length };
    // A step is the root of its own trace (it serves many trajectory traces); it links to each trajectory's span.
    return withSpan('learner.step', { kind: SpanKind.INTERNAL, attributes, links: linksTo(spans), parent: ROOT_CONTEXT }, async (span) => {
      const outcome = learner.trainStep(trajectories);
      span.setAttribute('rlmesh.policy_version', learner.policyVersion);
      span.setAttribute('rlmesh.trained', outcome.used.length);
      if (outcome.used.length === 0) {
        // Nothing trained (every trajectory stale or malformed): the stale groups' feedback still closes them.
        await this.publishFeedback(outcome);
        return outcome;
      }
      for (const t of outcome.used) store.trained.add(t.trajectoryId);
      await store.save(learner, this.deps.tokenizer);
      if (this.deps.checkpointEvery > 0 && learner.step % this.deps.checkpointEvery === 0) {
        await store.save(learner, this.deps.tokenizer, path.join(path.dirname(store.dir), `step-${learner.step}`));
      }
      // The step is persisted (its ids count as trained): what follows must reach NATS even across a broker outage,
      // or a redelivered trajectory would be skipped as trained while its group's feedback was never sent.
      // Every publish is deduplicated by its Nats-Msg-Id, so repeating one is safe.
      const again = <T>(what: string, fn: () => Promise<T>) => retryTransient(fn, { onRetry: (e, n) => this.deps.log(`${what}: retry ${n}: ${e instanceof Error ? e.message : String(e)}`) });
      if (learner.step % this.deps.publishEvery === 0 || this.done) await again('publish weights', () => this.publishWeights());
      const now = performance.now();
      const event: MetricsEvent = {
        runId, step: learner.step, unixMs: Date.now(), source: 'learner',
        values: {
          ...outcome.metrics,
          policy_version: learner.policyVersion,
          trained_total: learner.trained,
          dropped_stale_total: learner.droppedStale,
          tokens_per_s: (outcome.metrics.completion_tokens ?? 0) / ((now - this.lastStepAt) / 1000),
          done: this.done ? 1 : 0,
          ...this.heldoutMetric(),
        },
      };
      this.lastStepAt = now;
      const names = runNames(runId);
      // Feedback before metrics: the controller ends a run on the last metrics event, and every group of that step
      // must already be on the feedback stream by then.
      await again('publish feedback', () => this.publishFeedback(outcome));
      await again('publish metrics', () => publishProto(this.deps.js, names.stages.metrics.subject, MetricsEvent, event, { msgId: `learner-step-${learner.step}:metrics` }));
      this.deps.onStep?.(outcome, event);
      return outcome;
    });
  }

  /** One TaskFeedback per group; the dedupe id names the group (two groups of one task may share a step). */
  private async publishFeedback(outcome: StepOutcome): Promise<void> {
    const subject = runNames(this.deps.runId).stages.feedback.subject;
    for (const f of outcome.feedback) {
      const msgId = `${f.groupId}@${f.step}:${f.droppedStale ? 'stale' : 'trained'}:feedback`;
      await publishProto(this.deps.js, subject, TaskFeedback, f, { msgId });
    }
  }

  private heldoutMetric(): Record<string, number> {
    const h = this.deps.heldout;
    if (!h || h.every <= 0) return {};
    if (this.deps.learner.step % h.every !== 0 && !this.done) return {};
    return { heldout_accuracy: h.measure() };
  }

  /** Puts the current weights in the object store and announces the version. */
  async publishWeights(): Promise<void> {
    const { learner, weights, runId, js } = this.deps;
    const bytes = encodeSafetensors(learner.model.toWeights());
    const version = learner.policyVersion;
    const existing = await weights.latest();
    if (!existing || existing.version < version) await weights.put(version, bytes, { step: String(learner.step) });
    const names = runNames(runId);
    await publishProto(js, names.stages.weights.subject, WeightsAnnouncement, {
      runId, version, step: learner.step, bucket: names.weightsBucket, objectName: names.weightsObject(version),
      sha256: sha256Hex(bytes), sizeBytes: bytes.length,
    }, { msgId: `weights-v${version}` });
  }
}
