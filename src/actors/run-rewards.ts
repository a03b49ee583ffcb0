// A run's rewards, shared by the verifier (gRPC handlers and NATS worker) and the in-process loop, so both grade
// alike: reward options from request or run-config weights (with a task's length budget), the wire `Reward`, and
// run-config reward shaping of one trajectory's reward.
import { applyRewardShaping, type CompiledRunConfig } from '../config/index.ts';
import { ErrorCategory, RlmeshError, invalidField } from '../errors.ts';
import type { Reward, Trajectory } from '../generated/rlmesh/v1/common.ts';
import type { RewardSample } from '../objectives/index.ts';
import {
  checkFormat,
  compileRewardOptions,
  completionLength,
  RewardComponent,
  verifyCompletion,
  LENGTH_BUDGET_PARAM,
  type CompiledRewardOptions,
  type Task,
  type RewardResult,
} from '../tasks/index.ts';
/** Component added when run-config shaping changed the total: shaped - unshaped (weight 1), so total stays the sum. */
export const SHAPING_COMPONENT = 'shaping';

type Weights = Readonly<Record<RewardComponent, number>>;

/**
 * Options for a Verify request: the run config's weights with the request's `weights` map on top. Unknown names,
 * negative or non-finite values are refused naming `weights.<name>`. A request cannot carry a length budget, so
 * `weights.length` must stay 0 (use a run with a budget, or reward shaping, for length rewards).
 */
export function requestRewardOptions(requestWeights: Readonly<Record<string, number>>, base: Weights): CompiledRewardOptions {
  const names = Object.keys(requestWeights);
  if (names.length === 0) return compileRewardOptions({ weights: { ...base, length: 0 } });
  for (const name of names) {
    const w = requestWeights[name]!;
    if (!Object.hasOwn(RewardComponent, name)) throw invalidField(`weights.${name}`, `unknown reward component (${Object.keys(RewardComponent).join(', ')})`);
    if (!Number.isFinite(w) || w < 0) throw invalidField(`weights.${name}`, `must be a finite number >= 0, got ${w}`);
  }
  if ((requestWeights.length ?? 0) !== 0) throw invalidField('weights.length', 'must be 0: a Verify request carries no length budget');
  return compileRewardOptions({ weights: { ...base, length: 0, ...requestWeights } });
}

/**
 * The worker's options per length budget (cached): run-config weights; when `reward.weights.length` is not 0 every
 * trajectory's task must carry `params.length_budget` (a data error names it otherwise).
 */
export function runRewardOptions(run: CompiledRunConfig): (budget: number | undefined) => CompiledRewardOptions {
  const weights: Weights = run.config.reward.weights;
  const base = compileRewardOptions({ weights: { ...weights, length: 0 } });
  const byBudget = new Map<number, CompiledRewardOptions>();
  return (budget) => {
    if (budget === undefined) {
      if (weights.length !== 0) {
        throw new RlmeshError(ErrorCategory.data, `trajectory.task.params.${LENGTH_BUDGET_PARAM}: required when reward.weights.length != 0`, {
          field: `trajectory.task.params.${LENGTH_BUDGET_PARAM}`,
        });
      }
      return base;
    }
    let o = byBudget.get(budget);
    if (!o) {
      if (byBudget.size > 1024) byBudget.clear();
      o = compileRewardOptions({ weights: { ...weights }, lengthBudget: budget });
      byBudget.set(budget, o);
    }
    return o;
  };
}

/** `params.length_budget` of a task as a positive number, undefined when absent; malformed -> data error. */
export function lengthBudgetOf(params: Readonly<Record<string, string>> | undefined, field: string): number | undefined {
  const raw = params?.[LENGTH_BUDGET_PARAM];
  if (raw === undefined || raw === '') return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 1) {
    throw new RlmeshError(ErrorCategory.data, `${field}.params.${LENGTH_BUDGET_PARAM}: must be a number >= 1, got "${raw.slice(0, 40)}"`, {
      field: `${field}.params.${LENGTH_BUDGET_PARAM}`,
    });
  }
  return v;
}

/** The wire reward (the library's `answerSource` stays internal). */
export function toRewardMessage(r: RewardResult): Reward {
  return { total: r.total, components: { ...r.components }, correct: r.correct, parsedAnswer: r.parsedAnswer, reason: r.reason, formatOk: r.formatOk };
}

function mean(xs: readonly number[], from: number, to: number): number {
  if (to <= from) return 0;
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i]!;
  return s / (to - from);
}

/** What shaping reads of a trajectory (a TrajectorySummary has it). */
export interface ShapingInput {
  completionText: string;
  /** completion length in tokens (0: measured from the text) */
  completionTokens: number;
  entropies: readonly number[];
}

/**
 * What a reward shaper sees for one trajectory. Think/answer entropies split the recorded per-token entropies at
 * the `</think>` token (ALGORITHMS.md 9d; one token per character and per special tag, as the built-in tokenizer
 * counts); they are left out when the trajectory carries no entropies, so a shaper that needs them names the field.
 */
export function shapingSample(t: ShapingInput, r: RewardResult, budget: number | undefined): RewardSample {
  const text = t.completionText;
  const format = checkFormat(text);
  const length = t.completionTokens > 0 ? t.completionTokens : completionLength(text);
  const sample: RewardSample = {
    reward: r.total, correct: r.correct, length, parsed: r.answerSource !== 'none',
    thinkWellFormed: format.thinkOk, answerWellFormed: format.answerOk,
    ...(budget === undefined ? {} : { budget }),
  };
  const H = t.entropies;
  if (H.length > 0) {
    const close = text.indexOf('</think>');
    const k = close < 0 ? H.length : Math.min(H.length, completionLength(text.slice(0, close)));
    sample.thinkEntropy = mean(H, 0, k);
    sample.answerEntropy = close < 0 ? 0 : mean(H, k + 1, H.length);
  }
  return sample;
}

/** The run shapes rewards (the shapers read each trajectory's text, length and entropies). */
export function runShapes(run: CompiledRunConfig): boolean {
  return run.mode.usesRewards && run.rewardShaping.length > 0;
}

/** Applies the run's shapers to one reward; the change is reported as the `shaping` component. */
export function shapeReward(run: CompiledRunConfig, reward: Reward, sample: RewardSample): Reward {
  if (!runShapes(run)) return reward;
  let shaped: number;
  try {
    shaped = applyRewardShaping(run.rewardShaping, [sample])[0]!;
  } catch (e) {
    if (e instanceof RlmeshError) throw new RlmeshError(ErrorCategory.data, `reward shaping: ${e.message}`, { field: e.field, cause: e });
    throw e;
  }
  if (!Number.isFinite(shaped)) throw new RlmeshError(ErrorCategory.data, `reward shaping produced ${shaped}`, { field: 'reward.total' });
  return { ...reward, total: shaped, components: { ...reward.components, [SHAPING_COMPONENT]: shaped - reward.total } };
}

/**
 * One completion's reward as the run grades it: the run's weights with the task's length budget (`params`), then the
 * run's shaping. The verifier worker and the in-process loop both grade through it; a data error names the field.
 */
export function gradeCompletion(
  run: CompiledRunConfig, optionsFor: ReturnType<typeof runRewardOptions>, task: Task, t: ShapingInput, params: Readonly<Record<string, string>> | undefined,
): Reward {
  const budget = lengthBudgetOf(params, 'trajectory.task');
  const result = verifyCompletion(task, t.completionText, optionsFor(budget), t.completionTokens);
  // A RewardResult is a Reward plus `answerSource`, which no encoder writes: no copy per trajectory.
  return runShapes(run) ? shapeReward(run, result, shapingSample(t, result, budget)) : result;
}

/**
 * Grades trajectories in place as the run's verifier does (gradeCompletion): the in-process loop's grader. A
 * trajectory that cannot be graded gets reward 0 with the reason.
 */
export function runGrader(run: CompiledRunConfig): (trajs: Trajectory[]) => void {
  const optionsFor = runRewardOptions(run);
  return (trajs) => {
    for (const t of trajs) {
      try {
        const input = { completionText: t.completionText, completionTokens: t.completionTokenIds.length, entropies: t.entropies };
        t.reward = gradeCompletion(run, optionsFor, t.task as unknown as Task, input, t.task?.params);
      } catch (e) {
        t.reward = { total: 0, components: {}, correct: false, parsedAnswer: '', reason: e instanceof Error ? e.message : String(e), formatOk: false };
      }
    }
  };
}
