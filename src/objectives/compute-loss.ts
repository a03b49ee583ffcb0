// Composition: objective + token selector + entropy control (+ reward shaping) compiled once, called per batch.
import * as tf from '@tensorflow/tfjs';
import { invalidField, RlmeshError } from '../errors.ts';
import { compileMethod, type CompiledMethod } from './registry.ts';
import { num } from './tensor-ops.ts';
import type {
  EntropyControl,
  ObjectiveBatch,
  ObjectiveFn,
  ObjectiveMetrics,
  ObjectiveResult,
  RewardSample,
  RewardShaperFn,
  TokenSelectorFn,
} from './types.ts';

/** A method choice as written in a run config. */
export interface MethodChoice {
  name: string;
  params?: Record<string, unknown>;
}

/** The objectives part of a run config (keys as in the YAML). */
export interface ObjectivesOptions {
  objective: MethodChoice;
  token_selector?: MethodChoice | null;
  entropy_control?: MethodChoice | null;
  reward_shaping?: MethodChoice | null;
}

export interface CompiledObjectives {
  objective: CompiledMethod<ObjectiveFn>;
  tokenSelector?: CompiledMethod<TokenSelectorFn>;
  entropyControl?: CompiledMethod<EntropyControl>;
  rewardShaping?: CompiledMethod<RewardShaperFn>;
}

/** State the compiled methods carry from step to step (today: SIREN's anchor), for learner checkpoints. */
export interface ObjectiveState { entropy_control?: { anchor: number | null } }

function statefulControl(c: CompiledObjectives): { anchor: number | null } | null {
  const fn = c.entropyControl?.fn as { state?: { anchor: number | null } } | undefined;
  return fn?.state ?? null;
}

/** Copies the methods' mutable state (JSON-serialisable). */
export function exportObjectiveState(c: CompiledObjectives): ObjectiveState {
  const s = statefulControl(c);
  return s ? { entropy_control: { anchor: s.anchor } } : {};
}

/** Restores `exportObjectiveState` output; a state for a method the run does not use is ignored. */
export function importObjectiveState(c: CompiledObjectives, state: ObjectiveState | undefined): void {
  const s = statefulControl(c);
  const anchor = state?.entropy_control?.anchor;
  if (!s || anchor === undefined) return;
  if (anchor !== null && !Number.isFinite(anchor)) throw invalidField('objectives.entropy_control.anchor', `must be a finite number or null, got ${anchor}`);
  s.anchor = anchor;
}

/** Objectives that read batch.advantages (entropy controls rewriting advantages need one of these). */
const advantageObjectives: ReadonlySet<string> = new Set(['grpo', 'dapo', 'bnpo', 'dr-grpo']);
/** Objectives that expose advantages and ratios to a per-token hook (Clip-Cov, KL-Cov). */
const tokenHookObjectives: ReadonlySet<string> = new Set([...advantageObjectives, 'opd-reverse-kl']);

/** Validates and builds every method named in `opts`; `prefix` is the config path of the block (e.g. "loss"). */
export function compileObjectives(opts: ObjectivesOptions, prefix = ''): CompiledObjectives {
  const at = (k: string) => (prefix ? `${prefix}.${k}` : k);
  const objective = compileMethod('objective', opts.objective.name, opts.objective.params, at('objective'));
  const out: CompiledObjectives = { objective };
  if (opts.token_selector) {
    out.tokenSelector = compileMethod('token_selector', opts.token_selector.name, opts.token_selector.params, at('token_selector'));
  }
  if (opts.entropy_control) {
    const ec = compileMethod('entropy_control', opts.entropy_control.name, opts.entropy_control.params, at('entropy_control'));
    const needsAdv = ec.fn.adjustBatch !== undefined && !advantageObjectives.has(objective.name);
    const needsHook = ec.fn.tokenHook !== undefined && !tokenHookObjectives.has(objective.name);
    if (needsAdv || needsHook) {
      const allowed = [...(needsHook ? tokenHookObjectives : advantageObjectives)].join(', ');
      throw new RlmeshError(
        'config',
        `${at('entropy_control.name')}: '${ec.name}' does not compose with objective '${objective.name}' (use one of: ${allowed})`,
        { field: at('entropy_control.name') },
      );
    }
    out.entropyControl = ec;
  }
  if (opts.reward_shaping) {
    out.rewardShaping = compileMethod('reward_shaping', opts.reward_shaping.name, opts.reward_shaping.params, at('reward_shaping'));
  }
  return out;
}

/**
 * The learner's loss for one batch: entropy control rewrites advantages, the selector picks tokens, the
 * objective computes the loss (with the control's per-token hook), the control's regulariser is added.
 * Call it inside `tf.variableGrads(() => computeLoss(c, batchFromParams()).loss)`.
 */
export function computeLoss(compiled: CompiledObjectives, batch: ObjectiveBatch): ObjectiveResult {
  const metrics: ObjectiveMetrics = {};
  const control = compiled.entropyControl?.fn;
  let b = batch;
  if (control?.adjustBatch) {
    const adjusted = control.adjustBatch(b);
    b = adjusted.batch;
    Object.assign(metrics, adjusted.metrics);
  }
  const selection = compiled.tokenSelector?.fn(b);
  if (selection) Object.assign(metrics, selection.metrics);
  const result = compiled.objective.fn(b, { selection, tokenHook: control?.tokenHook });
  Object.assign(metrics, result.metrics);
  let loss = result.loss;
  if (control?.extraLoss) {
    const extra = control.extraLoss(b);
    loss = tf.add(loss, extra.loss) as tf.Scalar;
    Object.assign(metrics, extra.metrics);
    metrics.loss = num(loss);
  }
  return { loss, metrics };
}

/** Applies the compiled reward shaping (identity without one). */
export function shapeRewards(compiled: CompiledObjectives, samples: readonly RewardSample[]): number[] {
  return compiled.rewardShaping ? compiled.rewardShaping.fn(samples) : samples.map((s) => s.reward);
}
