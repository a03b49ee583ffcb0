// The run controller: provisions a run's streams, dispatches tasks chosen by the curriculum with a bounded number
// of groups in flight, feeds learner feedback back to the curriculum, records metrics, and ends the run.
import { EventEmitter } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CompiledRunConfig } from '../../src/config/index.ts';
import {
  checkFeedback, curriculumFeedback, minPolicyVersionFor, restoreCurriculum, type Curriculum, type CurriculumFeedback, type CurriculumState,
} from '../../src/curriculum/index.ts';
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';
import { generateTask, toTaskSpec, withLengthBudget } from '../../src/tasks/index.ts';
import { MetricsEvent, RolloutTask, TaskFeedback } from '../../src/generated/rlmesh/v1/common.ts';
import {
  byteLimitWarning, ConsumerName, consumeProto, deadLetterWeight, Header, provisionRun, publishProto, redeliveriesOf, retryTransient, runNames,
  type ConsumeLoop,
} from '../../src/platform/nats/index.ts';
import { currentSpanContext, linksTo, withSpan } from '../../src/platform/telemetry/index.ts';

export const RunState = { starting: 'starting', running: 'running', finished: 'finished', stopped: 'stopped', failed: 'failed' } as const;
export type RunState = (typeof RunState)[keyof typeof RunState];

export interface RunAccounting {
  /** Groups (task dispatches) published to the tasks stream. */
  dispatched: number;
  /** Groups the learner trained on. */
  completed: number;
  /** Groups the learner dropped as stale. */
  droppedStale: number;
  /** Groups the batch filter set aside (all samples scored the same; not trained on). */
  filtered: number;
  /** Groups whose feedback was malformed (dead-lettered with the field named): freed, never counted or learned from. */
  rejected: number;
  /** Dead letters anywhere in the run, per trajectory on the trajectory streams (deadLetterWeight), else per message. */
  deadLettered: number;
  /** Redeliveries (deliveries after the first) across the run's durable consumers, as counted by the broker. */
  redelivered: number;
}

export interface RunStatus {
  runId: string;
  state: RunState;
  mode: string;
  objective: string;
  step: number;
  steps: number;
  policyVersion: number;
  inFlight: number;
  accounting: RunAccounting;
  lastMetrics: Record<string, number>;
  curriculum: Array<{ key: string; probability: number }>;
  startedAt: number;
  endedAt?: number;
  error?: string;
}

export interface ControllerDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  run: CompiledRunConfig;
  dir: string;
  log(m: string): void;
}

interface SavedState {
  curriculum: CurriculumState;
  accounting: RunAccounting;
  nextDispatch: number;
  open: string[];
  /** feedback of learner steps the curriculum has not learned from yet */
  pending?: CurriculumFeedback[];
  /** the last learner step the curriculum learned from */
  closedThrough?: number;
}

export class RunController extends EventEmitter {
  readonly runId: string;
  private curriculum!: Curriculum;
  private readonly open = new Set<string>();
  /**
   * Feedback by learner step, held until that step closes: the curriculum learns once per learner step from all its
   * groups (trained and set aside), as in the in-process loop, not once per group message.
   */
  private readonly pending = new Map<number, CurriculumFeedback[]>();
  /** Learner steps up to this one are closed: the curriculum learned from them. */
  private closedThrough = 0;
  /** The learner's held-out entropy measurements by step, not yet passed to the curriculum. */
  private readonly heldoutEntropy = new Map<number, number>();
  private nextDispatch = 0;
  private accounting: RunAccounting = { dispatched: 0, completed: 0, droppedStale: 0, filtered: 0, rejected: 0, deadLettered: 0, redelivered: 0 };
  private redeliveryTimer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private loops: ConsumeLoop[] = [];
  private state: RunState = RunState.starting;
  private step = 0;
  private policyVersion = 0;
  private lastMetrics: Record<string, number> = {};
  private readonly startedAt = Date.now();
  private endedAt?: number;
  private error?: string;
  private pumping = false;
  private readonly finishedPromise: Promise<RunState>;
  private resolveFinished!: (s: RunState) => void;

  constructor(private readonly deps: ControllerDeps) {
    super();
    this.runId = deps.run.config.run_id;
    this.finishedPromise = new Promise((r) => { this.resolveFinished = r; });
  }

  get metricsFile(): string { return path.join(this.deps.dir, 'metrics.jsonl'); }
  private get stateFile(): string { return path.join(this.deps.dir, 'controller-state.json'); }

  /** Resolves with the end state (finished / stopped / failed). */
  finished(): Promise<RunState> { return this.finishedPromise; }

  async start(): Promise<void> {
    const { run, jsm, js } = this.deps;
    const cfg = run.config;
    mkdirSync(this.deps.dir, { recursive: true });
    writeFileSync(path.join(this.deps.dir, 'config.json'), JSON.stringify(cfg, null, 2));
    // The server's version decides whether byte limits are safe on its discard-new streams (byteLimitIsSafe).
    const serverVersion = this.deps.nc.info?.version;
    await provisionRun(jsm, this.runId, { withTeacher: run.mode.needsTeacher, ackWaitMs: cfg.nats.ack_wait_ms, maxDeliver: cfg.nats.max_deliver, replicas: cfg.nats.replicas, serverVersion });
    // Stopped while its streams were being provisioned: nothing consumes or dispatches for it.
    if (this.state !== RunState.starting) return;
    const bytes = byteLimitWarning(serverVersion);
    if (bytes) this.deps.log(`run ${this.runId}: ${bytes}`);
    this.restoreOrCreate();
    const names = runNames(this.runId);
    this.loops.push(consumeProto(js, {
      stream: names.stages.feedback.stream, consumer: ConsumerName.controller, type: TaskFeedback,
      deadSubject: names.stages.dead.subject, batch: 64, handler: (f) => this.onFeedback(f),
    }));
    this.loops.push(consumeProto(js, {
      stream: names.stages.metrics.stream, consumer: ConsumerName.gateway, type: MetricsEvent,
      deadSubject: names.stages.dead.subject, batch: 64, handler: (m) => this.onMetrics(m),
    }));
    this.watchDeadLetters();
    this.redeliveryTimer = setInterval(() => void this.refreshRedelivered(), 1000);
    this.redeliveryTimer.unref();
    this.state = RunState.running;
    this.deps.log(`run ${this.runId}: ${cfg.mode} / ${cfg.objective.name}, ${cfg.learner.steps} steps, curriculum ${cfg.curriculum.name}`);
    await this.pump();
  }

  private restoreOrCreate(): void {
    if (existsSync(this.stateFile)) {
      const saved = JSON.parse(readFileSync(this.stateFile, 'utf8')) as SavedState;
      this.curriculum = restoreCurriculum(saved.curriculum);
      this.accounting = { ...saved.accounting, redelivered: saved.accounting.redelivered ?? 0, filtered: saved.accounting.filtered ?? 0, rejected: saved.accounting.rejected ?? 0 };
      this.closedThrough = saved.closedThrough ?? 0;
      this.nextDispatch = saved.nextDispatch;
      for (const id of saved.open) this.open.add(id);
      for (const f of saved.pending ?? []) this.hold(f);
      this.deps.log(`resumed controller state: ${this.accounting.dispatched} dispatched, ${this.open.size} in flight`);
    } else {
      this.curriculum = this.deps.run.createCurriculum();
    }
  }

  private persist(): void {
    // Ended before its state was restored or created (stopped or failed while provisioning): a saved state of an
    // earlier incarnation stays as it was.
    if (!this.curriculum) return;
    const s: SavedState = {
      curriculum: this.curriculum.state(), accounting: this.accounting, nextDispatch: this.nextDispatch, open: [...this.open],
      pending: [...this.pending.values()].flat(), closedThrough: this.closedThrough,
    };
    writeFileSync(this.stateFile, JSON.stringify(s));
  }

  /** Dispatches until `max_in_flight` groups are open. */
  private async pump(): Promise<void> {
    if (this.state !== RunState.running) {
      // feedback consumed after the run ended (stopped: it may be resumed) is still recorded
      if (this.state !== RunState.starting) this.persist();
      return;
    }
    if (this.pumping) return;
    this.pumping = true;
    try {
      const cfg = this.deps.run.config;
      const names = runNames(this.runId);
      while (this.state === RunState.running && this.open.size < cfg.rollout.max_in_flight) {
        const [pick] = this.curriculum.next(1);
        if (!pick) break;
        const task = generateTask({ category: pick.category as never, difficulty: pick.difficulty, split: 'train', index: pick.index, template: pick.templateIndex });
        const dispatchId = `${this.runId}-g${this.nextDispatch++}`;
        const controls = this.curriculum.controls();
        const sampling = cfg.rollout.sampling;
        const msg: RolloutTask = {
          runId: this.runId, dispatchId, task: withLengthBudget(toTaskSpec(task), controls.lengthBudget) as RolloutTask['task'], groupSize: pick.groupSize ?? cfg.rollout.group_size,
          sampling: { temperature: sampling.temperature, topK: sampling.top_k, topP: sampling.top_p, maxNewTokens: controls.maxNewTokens ?? sampling.max_new_tokens, stopTokenIds: [], seed: 0 },
          // Work sampled older than max_staleness versions (counted at the step that will train it) would only be dropped.
          minPolicyVersion: minPolicyVersionFor({
            learnerVersion: this.policyVersion, groupsAhead: this.open.size,
            groupsPerStep: this.deps.run.groupsPerStep, maxStaleness: cfg.learner.max_staleness,
            publishEvery: cfg.learner.publish_every,
          }),
          dispatchIndex: pick.index,
        };
        // Encoded before it counts as dispatched: a message that cannot be encoded must not hold a slot.
        const data = RolloutTask.encode(msg).finish();
        this.open.add(dispatchId);
        this.accounting.dispatched++;
        // Each group is the root of its own trace; the feedback that freed its slot (if any) is a link, not a parent.
        const cause = currentSpanContext();
        const attributes = { 'rlmesh.run_id': this.runId, 'rlmesh.task_id': task.taskId, 'rlmesh.dispatch_id': dispatchId };
        await withSpan('gateway.dispatch', { kind: SpanKind.INTERNAL, attributes, parent: ROOT_CONTEXT, links: linksTo([cause]) }, () =>
          // Counted as dispatched already: retry across a broker outage (deduplicated by its msgId) so it is never lost.
          retryTransient(() => publishProto(this.deps.js, names.stages.tasks.subject, RolloutTask, msg, { data, msgId: `${dispatchId}:tasks`, attributes: { 'rlmesh.task_id': task.taskId } }),
            { onRetry: (e, n) => this.deps.log(`dispatch ${dispatchId}: retry ${n}: ${e instanceof Error ? e.message : String(e)}`) }));
      }
      this.persist();
    } finally {
      this.pumping = false;
    }
  }

  /**
   * A group's feedback: its slot is freed and refilled. A record the curriculum cannot learn from is a data error
   * (dead-lettered with the field named) that still frees its group's slot, so a bad message never shrinks the run's
   * in-flight window; the group counts as rejected and nothing is learned from it.
   */
  private async onFeedback(f: TaskFeedback): Promise<void> {
    try {
      const learned = this.checkGroupFeedback(f);
      if (!this.open.delete(f.groupId)) return; // a repeat, or feedback of another controller incarnation
      if (f.droppedStale) this.accounting.droppedStale++;
      else {
        // A filtered group was not trained on, but its pass rate is a real observation of the task for the curriculum.
        if (f.filtered) this.accounting.filtered++;
        else this.accounting.completed++;
        this.learnFrom(learned!);
      }
    } catch (err) {
      if (this.open.delete(f.groupId)) this.accounting.rejected++;
      throw err;
    } finally {
      await this.pump();
    }
  }

  /**
   * What the curriculum will learn from a group's feedback, checked, with a step the run can have (1 to steps + 1:
   * set-aside groups name the next); undefined for a stale group, which is only counted.
   */
  private checkGroupFeedback(f: TaskFeedback): CurriculumFeedback | undefined {
    if (f.droppedStale) return undefined;
    const learned = curriculumFeedback(f);
    checkFeedback([learned]);
    const last = this.deps.run.config.learner.steps + 1;
    if (!(f.step >= 1 && f.step <= last)) throw new RlmeshError(ErrorCategory.data, `feedback.step: must be in 1-${last}, got ${f.step}`, { field: 'feedback.step' });
    return learned;
  }

  /**
   * Holds a group's feedback until its learner step closes. The feedback stream has one publisher (the learner, in
   * step order) and one consumer taking it in order, so feedback of step k means every group of the steps before k is
   * in: they close then, one curriculum update per step. (Closing on the step's metrics event would not do: metrics
   * travel on another stream and overtake the step's feedback.) A late record, of a step already closed (a
   * redelivery), is learned from on its own.
   */
  private learnFrom(f: CurriculumFeedback): void {
    const step = f.step!;
    if (step <= this.closedThrough) {
      this.curriculum.update([f], { step: Math.max(step, this.curriculum.step) });
      return;
    }
    this.hold(f);
    this.closeStepsThrough(step - 1);
  }

  private hold(f: CurriculumFeedback): void {
    const held = this.pending.get(f.step!);
    if (held) held.push(f);
    else this.pending.set(f.step!, [f]);
  }

  /** The curriculum learns from each held step up to `last`, one update per step, in step order. */
  private closeStepsThrough(last: number): void {
    for (const step of [...this.pending.keys()].sort((a, b) => a - b)) {
      if (step > last) break;
      const feedback = this.pending.get(step)!;
      this.pending.delete(step);
      // the held-out entropy the learner measured after this step (or the latest one before it not yet passed on: a
      // measurement that arrived after its step closed) goes with the step: the entropy-gated length curriculum's gate
      const heldoutEntropy = this.takeHeldoutEntropy(step);
      this.curriculum.update(feedback, { step: Math.max(step, this.curriculum.step), ...(heldoutEntropy === undefined ? {} : { heldoutEntropy }) });
      this.emit('curriculum', { step, curriculum: this.curriculum.probabilities() });
    }
    this.closedThrough = Math.max(this.closedThrough, last);
  }

  /** The latest measurement of a step <= `step`, removed with every earlier one; undefined when none. */
  private takeHeldoutEntropy(step: number): number | undefined {
    let latest: [number, number] | undefined;
    for (const [s, h] of this.heldoutEntropy) {
      if (s > step) continue;
      if (!latest || s > latest[0]) latest = [s, h];
      this.heldoutEntropy.delete(s);
    }
    return latest?.[1];
  }

  /** At the run's end: every held step closes (no later feedback will come to close the last one). */
  private closeAllSteps(): void {
    if (this.pending.size > 0) this.closeStepsThrough(Math.max(...this.pending.keys()));
  }

  /**
   * A metrics event this controller acts on: of this run, and from the learner with a step in [0, steps] and a
   * policy version that is an integer no larger than its step (the learner's version moves by one per trained step).
   * Anything else is a data error naming the field (dead-lettered): it would end the run early or stall dispatch.
   */
  private checkMetrics(m: MetricsEvent): void {
    const bad = (field: string, why: string) => new RlmeshError(ErrorCategory.data, `metrics.${field}: ${why}`, { field: `metrics.${field}` });
    if (m.runId !== this.runId) throw bad('run_id', `is "${m.runId.slice(0, 80)}"; this run is "${this.runId}"`);
    if (m.source !== 'learner') return;
    const steps = this.deps.run.config.learner.steps;
    if (!(Number.isInteger(m.step) && m.step >= 0 && m.step <= steps)) throw bad('step', `must be an integer in 0-${steps}, got ${String(m.step)}`);
    const pv = m.values.policy_version;
    if (pv !== undefined && !(Number.isInteger(pv) && pv >= 0 && pv <= m.step)) {
      throw bad('values.policy_version', `must be an integer in 0-${m.step} (the event's step), got ${String(pv)}`);
    }
    const done = m.values.done;
    if (done !== undefined && done !== 0 && done !== 1) throw bad('values.done', `must be 0 or 1, got ${String(done)}`);
  }

  private async onMetrics(m: MetricsEvent): Promise<void> {
    this.checkMetrics(m);
    const values = { ...m.values };
    if (m.source === 'learner' && Number.isFinite(values.heldout_entropy)) this.heldoutEntropy.set(m.step, values.heldout_entropy!);
    appendFileSync(this.metricsFile, JSON.stringify({ step: m.step, unix_ms: m.unixMs, source: m.source, ...values }) + '\n');
    if (m.source === 'learner') {
      this.step = Math.max(this.step, m.step);
      this.policyVersion = Math.max(this.policyVersion, values.policy_version ?? 0);
      this.lastMetrics = values;
    }
    this.emit('metrics', { step: m.step, source: m.source, values });
    if (m.source === 'learner' && (values.done === 1 || this.step >= this.deps.run.config.learner.steps)) {
      await this.feedbackCaughtUp();
      this.closeAllSteps();
      await this.end(RunState.finished);
    }
  }

  /** Waits (up to 30 s) until the feedback consumer has processed everything published so far, so the final
   *  accounting includes the last step's groups (feedback and metrics travel on separate streams; after a broker
   *  outage the feedback consumer may still be re-establishing its pull when the last metrics event arrives). */
  private async feedbackCaughtUp(): Promise<void> {
    const stream = runNames(this.runId).stages.feedback.stream;
    for (let i = 0; i < 300; i++) {
      try {
        const ci = await this.deps.jsm.consumers.info(stream, ConsumerName.controller);
        if (ci.num_pending === 0 && ci.num_ack_pending === 0) return;
      } catch {
        // broker briefly unreachable: ask again
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    this.deps.log(`run ${this.runId}: feedback consumer still behind after 30 s; ending with ${this.open.size} groups in flight`);
  }

  private watchDeadLetters(): void {
    const names = runNames(this.runId);
    // Core subscription: sees every dead letter as it is published, without consuming the dead stream. A
    // TrajectoryBatch dead-lettered whole counts each of its trajectories. A repeat of a dead letter (a redelivered
    // batch dead-letters its bad trajectories again) reaches subscribers although the stream drops it: counted once.
    const seen = new Set<string>();
    const sub = this.deps.nc.subscribe(names.stages.dead.subject, {
      callback: (err, msg) => {
        if (err) return;
        const id = msg.headers?.get(Header.msgId);
        if (id) {
          if (seen.has(id)) return;
          seen.add(id);
        }
        this.accounting.deadLettered += deadLetterWeight(msg.headers, msg.data);
      },
    });
    this.once('end', () => sub.unsubscribe());
  }

  /**
   * Redeliveries from the broker, summed over the run's durable consumers (redeliveriesOf). Polled while the
   * controller lives; never decreases.
   */
  refreshRedelivered(): Promise<void> {
    this.refreshing ??= (async () => {
      const names = runNames(this.runId);
      let total = 0;
      for (const stage of Object.values(names.stages)) {
        try {
          for await (const ci of this.deps.jsm.consumers.list(stage.stream)) {
            if (ci.config.durable_name) total += redeliveriesOf(ci);
          }
        } catch {
          // stream gone or broker unreachable: keep the last count
        }
      }
      this.accounting.redelivered = Math.max(this.accounting.redelivered, total);
    })().finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  async end(state: RunState, error?: string): Promise<void> {
    if (this.state === RunState.finished || this.state === RunState.stopped || this.state === RunState.failed) return;
    this.state = state;
    this.error = error;
    this.endedAt = Date.now();
    await this.refreshRedelivered();
    this.persist();
    this.deps.log(`run ${this.runId} ${state}${error ? `: ${error}` : ''} at step ${this.step}`);
    this.emit('end', state);
    this.resolveFinished(state);
  }

  async close(): Promise<void> {
    clearInterval(this.redeliveryTimer);
    if (this.state === RunState.running || this.state === RunState.starting) await this.end(RunState.stopped);
    await Promise.all(this.loops.map((l) => l.stop()));
  }

  status(): RunStatus {
    const cfg = this.deps.run.config;
    return {
      runId: this.runId, state: this.state, mode: cfg.mode, objective: cfg.objective.name, step: this.step, steps: cfg.learner.steps,
      policyVersion: this.policyVersion, inFlight: this.open.size, accounting: { ...this.accounting }, lastMetrics: this.lastMetrics,
      curriculum: this.curriculum ? this.curriculum.probabilities() : [], startedAt: this.startedAt, endedAt: this.endedAt, error: this.error,
    };
  }
}
