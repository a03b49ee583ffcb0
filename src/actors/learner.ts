// Learner actor logic: staleness filter, objective, AdamW step, per-task feedback. No I/O.
import { AdamW, CONSTANT_LR, learningRateAt, pickTokens, stepsWithRate, type AdamWOptions, type LlamaModel, type LrSchedule } from '../engine/index.ts';
import { computeLoss, grpoAdvantages, type CompiledObjectives, type ObjectiveMetrics } from '../objectives/index.ts';
import type { TaskFeedback, Trajectory } from '../generated/rlmesh/v1/common.ts';
import type { CompiledRunConfig } from '../config/index.ts';
import { ErrorCategory, RlmeshError } from '../errors.ts';
import { buildArrays, checkTrajectory, objectiveUsesRewards, oldLogprobs, teacherNeeds, toTensors, type TeacherNeeds } from './learner-batch.ts';
import { QuestionDifficulty } from './question-difficulty.ts';

export interface LearnerOptions {
  runId: string;
  objectives: CompiledObjectives;
  /** Objective params as configured (to know what teacher scores it needs). */
  objectiveParams: Record<string, unknown>;
  optimizer: AdamWOptions;
  /** How `optimizer.lr` changes over `totalSteps` steps; default constant. */
  lrSchedule?: LrSchedule;
  totalSteps?: number;
  /** Trajectories older than this many versions are dropped (and counted). */
  maxStaleness: number;
  padId: number;
}

const lrScheduleOf = (l: CompiledRunConfig['config']['learner']): LrSchedule => ({ name: l.lr_schedule, warmupSteps: l.warmup_steps, minRatio: l.min_lr_ratio });

/**
 * The most steps a run's learner can take: its `learner.steps` when the learning rate decays to 0 there (the
 * optimizer refuses a rate of 0), unbounded otherwise (a constant rate, or a decay that stops at `min_lr_ratio` > 0).
 */
export function maxLoopSteps(run: CompiledRunConfig): number {
  return stepsWithRate(run.config.learner.steps, lrScheduleOf(run.config.learner));
}

/** The learner options a compiled run config implies (one place for the config -> optimizer mapping). */
export function learnerOptionsFor(run: CompiledRunConfig, padId: number): LearnerOptions {
  const l = run.config.learner;
  return {
    runId: run.config.run_id,
    objectives: run.objectives,
    objectiveParams: run.config.objective.params,
    optimizer: { lr: l.lr, beta1: l.betas[0], beta2: l.betas[1], eps: l.eps, weightDecay: l.weight_decay, maxGradNorm: l.grad_clip },
    lrSchedule: lrScheduleOf(l),
    totalSteps: l.steps,
    maxStaleness: l.max_staleness,
    padId,
  };
}

export interface StepOutcome {
  step: number;
  policyVersion: number;
  metrics: Record<string, number>;
  used: Trajectory[];
  droppedStale: Trajectory[];
  /** Refused as malformed (reason per trajectory id); never trained on. */
  rejected: Array<{ trajectory: Trajectory; reason: string }>;
  feedback: TaskFeedback[];
}

export class Learner {
  readonly model: LlamaModel;
  readonly optimizer: AdamW;
  /** The configured rate (the optimizer's current one follows the schedule). */
  private readonly baseLr: number;
  readonly needs: TeacherNeeds;
  /** The objective learns from verifier rewards: every trajectory must carry one. */
  readonly needsRewards: boolean;
  step = 0;
  policyVersion = 0;
  trained = 0;
  droppedStale = 0;
  /** CEEH's per-question accuracy and shortest correct lengths (only when the entropy control is ceeh). */
  readonly questions: QuestionDifficulty | undefined;

  constructor(model: LlamaModel, readonly options: LearnerOptions) {
    this.model = model;
    this.optimizer = new AdamW(model.params, options.optimizer);
    this.baseLr = this.optimizer.options.lr;
    this.needs = teacherNeeds(options.objectives.objective.name, options.objectiveParams, options.objectives.tokenSelector?.name);
    this.needsRewards = objectiveUsesRewards(options.objectives.objective.name, options.objectiveParams);
    if (options.objectives.entropyControl?.name === 'ceeh') this.questions = new QuestionDifficulty();
  }

  /**
   * Whether this learner can train on t: its tokens fit the model, it carries what the objective needs
   * (checkTrajectory), and it was not sampled by a policy version this learner has not reached.
   */
  check(t: Trajectory): void {
    const c = this.model.config;
    checkTrajectory(t, this.needs, c.vocab_size, c.max_position_embeddings, this.needsRewards);
    if (t.policyVersion > this.policyVersion) {
      throw new RlmeshError(ErrorCategory.data, `trajectory ${t.trajectoryId}: policy_version: ${t.policyVersion} is ahead of this learner's version ${this.policyVersion}`, { field: 'policy_version' });
    }
  }

  /** Splits a candidate batch into usable, stale and malformed trajectories. */
  partition(trajs: readonly Trajectory[]) {
    const used: Trajectory[] = [], stale: Trajectory[] = [], rejected: StepOutcome['rejected'] = [];
    for (const t of trajs) {
      if (this.policyVersion - t.policyVersion > this.options.maxStaleness) { stale.push(t); continue; }
      try {
        this.check(t);
        used.push(t);
      } catch (e) {
        rejected.push({ trajectory: t, reason: e instanceof Error ? e.message : String(e) });
      }
    }
    return { used, stale, rejected };
  }

  /** One optimizer step on `trajs` (after the staleness filter); bumps step and policy version. */
  trainStep(trajs: readonly Trajectory[]): StepOutcome {
    const { used, stale, rejected } = this.partition(trajs);
    this.droppedStale += stale.length;
    const outcome: StepOutcome = {
      step: this.step, policyVersion: this.policyVersion, metrics: {}, used, droppedStale: stale, rejected, feedback: [],
    };
    outcome.feedback = taskFeedback(this.options.runId, this.step, stale, true);
    if (used.length === 0) return outcome;
    // The rate first: a step it refuses (past the schedule's end) must not leave the batch's tensors behind.
    const lr = learningRateAt(this.baseLr, this.step, this.options.totalSteps ?? 1, this.options.lrSchedule ?? CONSTANT_LR);
    this.optimizer.setLearningRate(lr);
    const V = this.model.config.vocab_size;
    const arrays = buildArrays(used, this.needs, V, this.options.padId);
    // CEEH: the hard set from the questions' accuracy EMAs before this batch, the length-penalised rewards, the state
    // updated with the batch
    const ceeh = this.questions && {
      hard: this.questions.hardFlags(used),
      rewards: this.questions.shapeAndUpdate(used, arrays.rewards, Number(this.options.objectives.entropyControl!.params.length_beta ?? 0)),
    };
    const c = toTensors(arrays, V);
    let objectiveMetrics: ObjectiveMetrics = {};
    const t0 = performance.now();
    try {
      const res = this.optimizer.trainStep(() => {
        const lsm = this.model.logSoftmax(c.inputs, c.attention); // [B, L, V]
        const out = computeLoss(this.options.objectives, {
          studentLogprobs: pickTokens(lsm, c.targets),
          studentLogprobsFull: lsm, // computed anyway; entropy bonuses and entropy controls differentiate through it
          mask: c.mask,
          samplingLogprobs: c.samplingLogprobs,
          teacherLogprobs: c.teacherLogprobs,
          teacherLogprobsFull: c.teacherLogprobsFull,
          entropies: c.entropies,
          rewards: ceeh?.rewards ?? arrays.rewards,
          correct: arrays.correct,
          groupIds: arrays.groupIds,
          ...(ceeh ? { hard: ceeh.hard } : {}),
          step: this.step,
        });
        objectiveMetrics = out.metrics;
        return out.loss;
      });
      this.step += 1;
      this.policyVersion += 1;
      this.trained += used.length;
      outcome.step = this.step;
      outcome.policyVersion = this.policyVersion;
      outcome.metrics = {
        ...objectiveMetrics,
        ...batchMetrics(used, arrays.completionTokens),
        loss: res.loss,
        grad_norm: res.gradNorm,
        lr,
        step_ms: performance.now() - t0,
        trajectories: used.length,
        dropped_stale: stale.length,
        rejected: rejected.length,
      };
      outcome.feedback.push(...taskFeedback(this.options.runId, this.step, used));
      return outcome;
    } finally {
      for (const t of Object.values(c)) t?.dispose();
    }
  }
}

/** Batch-level metrics from the trajectories themselves (reward, accuracy, KL to teacher, entropy, length). */
export function batchMetrics(trajs: readonly Trajectory[], completionTokens: number): Record<string, number> {
  let reward = 0, correct = 0, kl = 0, klTokens = 0, ent = 0;
  for (const t of trajs) {
    reward += t.reward?.total ?? 0;
    correct += t.reward?.correct ? 1 : 0;
    t.entropies.forEach((e) => { ent += e; });
    if (t.teacher && t.teacher.logprobs.length === t.completionTokenIds.length) {
      const own = oldLogprobs(t);
      t.teacher.logprobs.forEach((tl, i) => { kl += own[i]! - tl; klTokens++; });
    }
  }
  const n = trajs.length;
  const m: Record<string, number> = {
    reward: reward / n,
    accuracy: correct / n,
    entropy: ent / Math.max(1, completionTokens),
    response_length: completionTokens / n,
    completion_tokens: completionTokens,
  };
  if (klTokens > 0) m.reverse_kl = kl / klTokens;
  return m;
}

/** One TaskFeedback per group: pass rate, mean reward, mean |group-centred reward|, mean reverse KL. */
export function taskFeedback(runId: string, step: number, trajs: readonly Trajectory[], droppedStale = false): TaskFeedback[] {
  const groups = new Map<string, Trajectory[]>();
  for (const t of trajs) groups.set(t.groupId, [...(groups.get(t.groupId) ?? []), t]);
  return [...groups.values()].map((g) => {
    const rewards = g.map((t) => t.reward?.total ?? 0);
    const mean = rewards.reduce((a, b) => a + b, 0) / g.length;
    let kl = 0, tokens = 0;
    for (const t of g) {
      if (!t.teacher) continue;
      const own = oldLogprobs(t);
      t.teacher.logprobs.forEach((tl, i) => { kl += (own[i] ?? 0) - tl; tokens++; });
    }
    const task = g[0]!.task;
    return {
      runId,
      taskId: g[0]!.taskId,
      category: task?.category ?? '',
      difficulty: task?.difficulty ?? 0,
      step,
      samples: g.length,
      passRate: g.filter((t) => t.reward?.correct).length / g.length,
      // ALGORITHMS.md 10/11: |A| of the group-normalised GRPO advantage (0 when the group's rewards agree), which
      // SEC and DUMP learn from; not |R - mean|, which shrinks with the reward's scale (a format bonus of 0.1).
      // (a group of one has no group-relative advantage: 0)
      meanAbsAdvantage: g.length < 2 ? 0 : grpoAdvantages(rewards, g.map(() => 0), 'group').reduce((a, x) => a + Math.abs(x), 0) / g.length,
      meanReward: mean,
      meanReverseKl: tokens ? kl / tokens : 0,
      groupId: g[0]!.groupId,
      droppedStale,
      filtered: false,
      dispatchIndex: g[0]!.dispatchIndex,
    };
  });
}
