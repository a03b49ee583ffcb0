// The learner's step pipeline, shared by the NATS worker and the gRPC Step method: train, persist, publish
// weights, metrics and per-task feedback. One step at a time (steps are queued).
import { ROOT_CONTEXT, SpanKind, type SpanContext } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import { encodeSafetensors } from '../../src/engine/safetensors.ts';
import type { CharTokenizer } from '../../src/engine/tokenizer.ts';
import type { NamedTensors } from '../../src/engine/index.ts';
import { taskFeedback, type Learner, type StepOutcome } from '../../src/actors/index.ts';
import { filterStepMetrics, type DynamicSamplingFilter } from '../../src/curriculum/index.ts';
import { MetricsEvent, TaskFeedback, WeightsAnnouncement, type Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { publishProto, retryTransient, runNames, sha256Hex, type WeightStore } from '../../src/platform/nats/index.ts';
import { linksTo, withSpan } from '../../src/platform/telemetry/index.ts';
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';
import { LearnerFailpoint } from './failpoints.ts';
import type { LearnerStateStore, OutboxEntry } from './state-store.ts';
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
  heldout?: {
    every: number;
    /** Measure held-out entropy at step 1 and every this many steps (the entropy-gated length curriculum's stages). */
    entropyEvery?: number;
    measure(): { accuracy: number; entropy: number };
  };
  /** The run's batch filter (DAPO dynamic sampling), when configured; the worker admits groups through it. */
  filter?: DynamicSamplingFilter | null;
  /** Called at each failpoint with the current step (see failpoints.ts); absent in normal runs. */
  failpoint?(name: LearnerFailpoint, step: number): void;
  /**
   * Called once when this learner cannot go on: a step trained in memory whose checkpoint could not be written. The
   * process should stop (its held messages go back to the stream) and restart from its last checkpoint.
   */
  onFatal?(err: Error): void;
}

/** A step asked for after the run's last one (field `learner.steps`); the worker acknowledges its trajectories unused. */
export function afterEnd(maxSteps: number): RlmeshError {
  return new RlmeshError(ErrorCategory.config, `learner.steps: all ${maxSteps} steps of the run are trained; no further step`, { field: 'learner.steps' });
}

export function isAfterEnd(err: unknown): boolean {
  return err instanceof RlmeshError && err.field === 'learner.steps';
}

export class Trainer {
  private queue: Promise<unknown> = Promise.resolve();
  private lastStepAt = performance.now();
  duplicates = 0;
  unusedAfterEnd = 0;
  /** Groups the batch filter set aside (never trained), over this process's life. */
  filteredGroups = 0;
  /** The weights object this process stored (or found stored) last. */
  private lastStored: StoredWeights | undefined;

  constructor(readonly deps: TrainerDeps) {}

  get done(): boolean {
    return this.deps.learner.step >= this.deps.maxSteps;
  }

  /** Set when a step's checkpoint could not be written: every later step and publish is refused with it. */
  private broken: RlmeshError | undefined;

  /** Whether this learner stopped taking steps (a checkpoint could not be written; see runStep). */
  get isBroken(): boolean {
    return this.broken !== undefined;
  }

  /** Runs `fn` in the step queue (never during a step or another queued job, e.g. a checkpoint save). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.broken) throw this.broken;
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Queues one step; resolves with its outcome after the state is persisted and announced. `publishWeights`: store
   * and announce this step's weights even when `publishEvery` would skip them (a gRPC Step asking for it).
   */
  step(trajectories: Trajectory[], spans: Array<SpanContext | undefined> = [], publishWeights = false, skipTrained = false): Promise<StepOutcome> {
    return this.exclusive(() => this.runStep(trajectories, spans, publishWeights, skipTrained));
  }

  private async runStep(trajectories: Trajectory[], spans: Array<SpanContext | undefined>, publishWeights: boolean, skipTrained: boolean): Promise<StepOutcome> {
    const { learner, store, runId } = this.deps;
    // Checked in the queue: the NATS worker and a gRPC Step caller both queue steps, and either may have trained the
    // run's last step, or (skipTrained: the NATS worker's exactly-once) these very trajectories, while this one waited.
    // A gRPC caller may step on one batch again (several epochs); the worker's deliveries never train twice.
    if (this.done) throw afterEnd(this.deps.maxSteps);
    if (skipTrained) {
      // (a redelivery that arrived while the step that trained it was running, or one a gRPC Step trained since)
      const fresh = trajectories.map((t) => !store.trained.has(t.trajectoryId));
      this.duplicates += fresh.filter((f) => !f).length;
      spans = spans.filter((_s, i) => fresh[i]);
      trajectories = trajectories.filter((_t, i) => fresh[i]);
      if (trajectories.length === 0) {
        return { step: learner.step, policyVersion: learner.policyVersion, metrics: {}, used: [], droppedStale: [], rejected: [], feedback: [] };
      }
    }
    // Messages of an earlier step that never reached NATS (a publish gave up) go out before anything newer.
    await this.flushOutbox();
    const attributes = { 'rlmesh.run_id': runId, 'rlmesh.step': learner.step + 1, 'rlmesh.trajectories': trajectories.length };
    // A step is the root of its own trace (it serves many trajectory traces); it links to each trajectory's span.
    return withSpan('learner.step', { kind: SpanKind.INTERNAL, attributes, links: linksTo(spans), parent: ROOT_CONTEXT }, async (span) => {
      const outcome = learner.trainStep(trajectories);
      span.setAttribute('rlmesh.policy_version', learner.policyVersion);
      span.setAttribute('rlmesh.trained', outcome.used.length);
      if (outcome.used.length === 0) {
        // Nothing trained (every trajectory stale or malformed): the stale groups' feedback still closes them.
        store.outbox.push(...this.feedbackEntries(outcome));
        await this.flushOutbox();
        if (publishWeights) await this.again('publish weights', () => this.publishWeights());
        return outcome;
      }
      this.fail(LearnerFailpoint.afterStep, learner.step);
      for (const t of outcome.used) store.trained.add(t.trajectoryId);
      const now = performance.now();
      const event: MetricsEvent = {
        runId, step: learner.step, unixMs: Date.now(), source: 'learner',
        values: {
          ...outcome.metrics,
          policy_version: learner.policyVersion,
          trained_total: learner.trained,
          dropped_stale_total: learner.droppedStale,
          tokens_per_s: (outcome.metrics.completion_tokens ?? 0) / ((now - this.lastStepAt) / 1000),
          ...this.filterMetrics(),
          done: this.done ? 1 : 0,
          ...this.heldoutMetric(),
        },
      };
      this.lastStepAt = now;
      // Outbox: the step's feedback and metrics are saved in the same atomic checkpoint as its trained ids, and a
      // restarted learner re-publishes them (learner.resumeOutbox). Without it, a crash after the save would leave
      // the redelivered trajectories skipped as trained while their groups' feedback and the step's metrics were
      // never sent (the controller would count the groups in flight forever and miss the run's last step).
      // Feedback before metrics: the controller ends a run on the last metrics event, and every group of that step
      // must already be on the feedback stream by then.
      store.outbox.push(...this.feedbackEntries(outcome), { kind: 'metrics', msgId: `learner-step-${learner.step}:metrics`, data: MetricsEvent.encode(event).finish() });
      const weights = learner.model.toWeights(); // read once: the checkpoint(s) and the weights object share it
      const publishing = publishWeights || learner.step % this.deps.publishEvery === 0 || this.done;
      // The checkpoint goes to disk while the weights object goes to the object store. Rollout workers only ever load
      // an announced version, and the announcement waits for both, so a learner that dies in between leaves at most an
      // unannounced object, which its retrained version replaces (storeWeights compares the bytes' sha256).
      // Both branches finish before the step goes on, also when one fails: a write still running would race the next
      // step's (its folder's atomic rename, the remembered version).
      const [saved, storing] = await Promise.allSettled([
        this.saveCheckpoints(weights, learner.step),
        publishing ? this.again('store weights', () => this.storeWeights(weights)).then((w) => { this.fail(LearnerFailpoint.afterWeightsStored, learner.step); return w; }) : undefined,
      ]);
      if (saved.status === 'rejected') {
        // The model and optimizer moved past what is on disk, so this process cannot keep its promise that a
        // trajectory acknowledged as trained is in the checkpoint (a redelivery would be acked as a duplicate, then
        // lost by a restart). It refuses everything from now on and asks to be stopped; the step's messages go back to
        // the stream and a restarted learner trains them again from its last checkpoint.
        for (const t of outcome.used) store.trained.delete(t.trajectoryId);
        const why = saved.reason instanceof Error ? saved.reason.message : String(saved.reason);
        this.broken = new RlmeshError(ErrorCategory.transport, `step ${learner.step} was trained but its checkpoint could not be written (${why}); this learner stops so that a restart trains the step again from ${store.dir}`, { cause: saved.reason });
        this.deps.onFatal?.(this.broken);
        throw this.broken;
      }
      if (storing.status === 'rejected') throw storing.reason;
      const stored = storing.value;
      this.fail(LearnerFailpoint.afterCheckpoint, learner.step);
      // The step is persisted (its ids count as trained): what follows must reach NATS even across a broker outage.
      // Every publish is deduplicated by its Nats-Msg-Id, so repeating one is safe.
      if (stored) await this.again('announce weights', () => this.announceWeights(stored));
      this.fail(LearnerFailpoint.afterWeights, learner.step);
      await this.flushOutbox((e) => e.kind === 'feedback');
      this.fail(LearnerFailpoint.afterFeedback, learner.step);
      await this.flushOutbox();
      this.deps.onStep?.(outcome, event);
      return outcome;
    });
  }

  /**
   * Groups the batch filter set aside: their feedback (flagged `filtered`, with the pass rate the curriculum
   * learns from) closes them at the controller. Resolves once NATS stored it; the caller then acks them.
   */
  setAside(groups: ReadonlyArray<readonly Trajectory[]>): Promise<void> {
    return this.exclusive(async () => {
      const { js, runId, learner } = this.deps;
      const subject = runNames(runId).stages.feedback.subject;
      // One feedback per group (taskFeedback groups by group id), published together; its step is the one the groups
      // were gathered for (the next), as the in-process loop labels them, so the curriculum learns from them with it.
      await Promise.all(taskFeedback(runId, learner.step + 1, groups.flat()).map((f) =>
        this.again('publish feedback', () => publishProto(js, subject, TaskFeedback, { ...f, filtered: true }, { msgId: `${f.groupId}:filtered:feedback` }))));
      this.filteredGroups += groups.length;
    });
  }

  /** The batch filter's counters for the batch just trained (then reset for the next one). */
  private filterMetrics(): Record<string, number> {
    const { filter } = this.deps;
    if (!filter) return {};
    return { ...filterStepMetrics(filter.batchTaken()), filtered_groups_total: this.filteredGroups };
  }

  private fail(name: LearnerFailpoint, step: number): void {
    this.deps.failpoint?.(name, step);
  }

  private again<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retryTransient(fn, { onRetry: (e, n) => this.deps.log(`${what}: retry ${n}: ${e instanceof Error ? e.message : String(e)}`) });
  }

  /** One TaskFeedback per group; the dedupe id names the group (two groups of one task may share a step). */
  private feedbackEntries(outcome: StepOutcome): OutboxEntry[] {
    return outcome.feedback.map((f) => ({
      kind: 'feedback' as const,
      msgId: `${f.groupId}@${f.step}:${f.droppedStale ? 'stale' : 'trained'}:feedback`,
      data: TaskFeedback.encode(f).finish(),
    }));
  }

  /**
   * Publishes the outbox's entries (those `which` selects), each removed once NATS acknowledged it; retried across a
   * broker outage. All feedback first, then the metrics (the controller ends a run on the last metrics event, after
   * that step's feedback); the messages of each kind go out together and their PubAcks are awaited together. A
   * publish that gives up throws (after the others settled) and leaves what was not acknowledged for the next flush.
   */
  async flushOutbox(which: (e: OutboxEntry) => boolean = () => true): Promise<number> {
    const { store, js, runId } = this.deps;
    const names = runNames(runId);
    const selected = store.outbox.filter(which);
    let sent = 0;
    for (const kind of ['feedback', 'metrics'] as const) {
      const settled = await Promise.allSettled(selected.filter((e) => e.kind === kind).map(async (e) => {
        await this.again(`publish ${e.kind}`, () => e.kind === 'feedback'
          ? publishProto(js, names.stages.feedback.subject, TaskFeedback, TaskFeedback.decode(e.data), { msgId: e.msgId })
          : publishProto(js, names.stages.metrics.subject, MetricsEvent, MetricsEvent.decode(e.data), { msgId: e.msgId }));
        const at = store.outbox.indexOf(e);
        if (at >= 0) store.outbox.splice(at, 1);
        sent++;
      }));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    return sent;
  }

  /** Retries a non-empty outbox in the step queue (a periodic call: a publish that gave up is not left behind). */
  retryOutbox(): Promise<number> {
    if (this.deps.store.outbox.length === 0) return Promise.resolve(0);
    return this.exclusive(() => this.flushOutbox());
  }

  private heldoutMetric(): Record<string, number> {
    const h = this.deps.heldout;
    if (!h) return {};
    const step = this.deps.learner.step;
    const accuracyDue = h.every > 0 && (step % h.every === 0 || this.done);
    const entropyDue = h.entropyEvery !== undefined && (step === 1 || step % h.entropyEvery === 0);
    if (!accuracyDue && !entropyDue) return {};
    const m = h.measure(); // one held-out pass serves both
    return { ...(accuracyDue ? { heldout_accuracy: m.accuracy } : {}), ...(entropyDue ? { heldout_entropy: m.entropy } : {}) };
  }

  /** Step `step`'s checkpoint, and every `checkpointEvery` steps a kept copy of it. */
  private async saveCheckpoints(weights: NamedTensors, step: number): Promise<void> {
    const { learner, store, tokenizer, checkpointEvery } = this.deps;
    await store.save(learner, tokenizer, store.dir, weights);
    if (checkpointEvery > 0 && step % checkpointEvery === 0) {
      await store.save(learner, tokenizer, path.join(path.dirname(store.dir), `step-${step}`), weights);
    }
  }

  /** Puts the current weights in the object store and announces the version. */
  async publishWeights(tensors: NamedTensors = this.deps.learner.model.toWeights()): Promise<void> {
    await this.announceWeights(await this.storeWeights(tensors));
  }

  /**
   * Stores the weights as the learner's current version unless the store holds exactly these bytes for it already
   * (a restarted learner re-announcing its checkpoint). A same-version object with other bytes was stored by a
   * learner that died before its checkpoint and is replaced. What this process stored last is remembered; the
   * store is asked only before this process's first put.
   */
  private async storeWeights(tensors: NamedTensors): Promise<StoredWeights> {
    const { learner, weights } = this.deps;
    const bytes = encodeSafetensors(tensors);
    const w: StoredWeights = { version: learner.policyVersion, sha256: sha256Hex(bytes), sizeBytes: bytes.length };
    // Once this process stored a version, a newer one is always put (a leftover of that version, if any, is replaced).
    const last = this.lastStored;
    const known = last ? (last.version === w.version ? last : null) : await weights.info(w.version);
    if (known?.sha256 !== w.sha256) await weights.put(w.version, bytes, { step: String(learner.step) }, w.sha256);
    this.lastStored = w;
    return w;
  }

  private async announceWeights(w: StoredWeights): Promise<void> {
    const { learner, runId, js } = this.deps;
    const names = runNames(runId);
    await publishProto(js, names.stages.weights.subject, WeightsAnnouncement, {
      runId, version: w.version, step: learner.step, bucket: names.weightsBucket, objectName: names.weightsObject(w.version),
      sha256: w.sha256, sizeBytes: w.sizeBytes,
    }, { msgId: `weights-v${w.version}` });
  }
}

/** A version of the weights as stored in the object store. */
interface StoredWeights {
  version: number;
  sha256: string;
  sizeBytes: number;
}
