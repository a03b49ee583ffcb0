// Reward options as a user writes them (all optional) and their validated, defaulted form.
import { invalidField } from '../errors.ts';
import { DEFAULT_OVERLONG, type OverlongOptions } from './length-rewards.ts';

export const RewardComponent = {
  correctness: 'correctness',
  format: 'format',
  length: 'length',
  overlong: 'overlong',
} as const;
export type RewardComponent = (typeof RewardComponent)[keyof typeof RewardComponent];
const COMPONENTS: readonly string[] = Object.values(RewardComponent);

export interface RewardOptions {
  /** weight per component; total = sum weight * component. Defaults: correctness 1, format 0.1, length 0, overlong 1 */
  weights?: Partial<Record<string, number>>;
  /** triangular length budget L, tokens; the "length" component is computed only when set */
  lengthBudget?: number;
  /** Rmax of the triangular reward (default 1) */
  lengthRewardMax?: number;
  /** DAPO overlong shaping (defaults L_max 20480, L_buf 4096, kappa 1) */
  overlong?: Partial<OverlongOptions>;
  /** weight of the think / answer indicators inside the format component (default 0.5 / 0.5) */
  formatThinkWeight?: number;
  formatAnswerWeight?: number;
  /** completions longer than this (UTF-16 units) get reward 0 unread (default 65536) */
  maxCompletionChars?: number;
}

export interface CompiledRewardOptions {
  weights: Readonly<Record<RewardComponent, number>>;
  lengthBudget: number | null;
  lengthRewardMax: number;
  overlong: OverlongOptions;
  formatThinkWeight: number;
  formatAnswerWeight: number;
  maxCompletionChars: number;
}

export const DEFAULT_REWARD_WEIGHTS: Readonly<Record<RewardComponent, number>> = {
  correctness: 1,
  format: 0.1,
  length: 0,
  overlong: 1,
};

function finite(field: string, v: number | undefined, fallback: number, min = -Infinity): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw invalidField(field, `must be a finite number >= ${min}, got ${String(v)}`);
  return v;
}

/** Validates and fills defaults; throws RlmeshError (config) naming the bad field. */
export function compileRewardOptions(options: RewardOptions = {}): CompiledRewardOptions {
  const weights: Record<RewardComponent, number> = { ...DEFAULT_REWARD_WEIGHTS };
  for (const [name, w] of Object.entries(options.weights ?? {})) {
    if (!COMPONENTS.includes(name)) throw invalidField(`weights.${name}`, `unknown reward component (${COMPONENTS.join(', ')})`);
    weights[name as RewardComponent] = finite(`weights.${name}`, w, 0);
  }
  const lengthBudget = options.lengthBudget === undefined ? null : finite('length_budget', options.lengthBudget, 0, 1);
  if (weights.length !== 0 && lengthBudget === null) throw invalidField('length_budget', 'required when weights.length != 0');
  const o = options.overlong ?? {};
  const overlong: OverlongOptions = {
    maxLength: finite('overlong.max_length', o.maxLength, DEFAULT_OVERLONG.maxLength, 1),
    buffer: finite('overlong.buffer', o.buffer, DEFAULT_OVERLONG.buffer, 1),
    penalty: finite('overlong.penalty', o.penalty, DEFAULT_OVERLONG.penalty, 0),
  };
  if (overlong.buffer > overlong.maxLength) throw invalidField('overlong.buffer', `${overlong.buffer} exceeds max_length ${overlong.maxLength}`);
  return {
    weights,
    lengthBudget,
    lengthRewardMax: finite('length_reward_max', options.lengthRewardMax, 1, 0),
    overlong,
    formatThinkWeight: finite('format_think_weight', options.formatThinkWeight, 0.5, 0),
    formatAnswerWeight: finite('format_answer_weight', options.formatAnswerWeight, 0.5, 0),
    maxCompletionChars: finite('max_completion_chars', options.maxCompletionChars, 65536, 1),
  };
}
