// Shared input/output types of the objectives: the learner's batch, loss results, selections and hooks.
import type * as tf from '@tensorflow/tfjs';

/**
 * One learner batch as the objectives see it. B = sequences (prompts x rollouts), T = padded response length,
 * V = vocab size, K = teacher top-k width. Only `studentLogprobs` and `mask` are always required; each method
 * names (with an RlmeshError, category data, field = the key) the inputs it needs that are missing.
 */
export interface ObjectiveBatch {
  /** [B, T] log pS(y) of the sampled token under the current parameters (differentiable). */
  studentLogprobs: tf.Tensor2D;
  /** [B, T] 1 for response tokens that are trained on, 0 for prompt / pad / tool tokens. */
  mask: tf.Tensor2D;
  /** [B, T] log-prob of y under the behaviour (sampling) policy, recorded with the trajectory. Constant. */
  samplingLogprobs?: tf.Tensor2D;
  /** [B, T] teacher log-prob of the sampled token. Constant. */
  teacherLogprobs?: tf.Tensor2D;
  /** [B, T] frozen reference-model log-prob of the sampled token (k3 KL). Constant. */
  referenceLogprobs?: tf.Tensor2D;
  /** [B, T, V] full student log-softmax (differentiable), for distribution-level losses and entropies. */
  studentLogprobsFull?: tf.Tensor3D;
  /** [B, T, V] full teacher log-softmax. Constant. */
  teacherLogprobsFull?: tf.Tensor3D;
  /** Teacher top-k: ids [B, T, K] int32 and their log-probs [B, T, K]; losses renormalise over these ids. */
  teacherTopK?: { ids: tf.Tensor3D; logprobs: tf.Tensor3D };
  /** [B, T] per-token entropy of the student's next-token distribution (constant; derived from
   *  studentLogprobsFull when absent). */
  entropies?: tf.Tensor2D;
  /** [B] scalar sequence rewards. */
  rewards?: readonly number[];
  /** [B] group (prompt) id; rollouts of one prompt share it. */
  groupIds?: ReadonlyArray<number | string>;
  /** [B] correctness (DRPO, CEEH). */
  correct?: readonly boolean[];
  /** [B] CEEH: the question is in the hard set. */
  hard?: readonly boolean[];
  /** Precomputed advantages: [B] per sequence or [B, T] per token (override reward-derived ones). */
  advantages?: readonly number[] | tf.Tensor2D;
  /** Optimizer step (0-based), for schedules (Entrocraft, CEEH). */
  step?: number;
  /** DAPO: number of valid tokens in the whole accumulated optimizer batch (denominator); default this batch's. */
  globalTokenCount?: number;
}

/** Named scalar metrics. Plain numbers, so they survive `tf.variableGrads` disposing its intermediates. */
export type ObjectiveMetrics = Record<string, number>;

export interface ObjectiveResult {
  loss: tf.Scalar;
  metrics: ObjectiveMetrics;
}

/** How a masked per-token loss becomes a scalar (ALGORITHMS.md 0.2). */
export const Aggregation = {
  seqMeanTokenMean: 'seq-mean-token-mean',
  tokenMean: 'token-mean',
  seqSumNorm: 'seq-sum-norm',
  seqMeanTokenSum: 'seq-mean-token-sum',
  sum: 'sum',
} as const;
export type Aggregation = (typeof Aggregation)[keyof typeof Aggregation];

/** A token selector's answer: which tokens carry gradient and what the aggregation divides by. */
export interface Selection {
  /** [B, T] 0/1 (already AND-ed with the mask). */
  keep: tf.Tensor2D;
  /** [B, T] optional per-token weights applied on top of `keep`. */
  weights?: tf.Tensor2D;
  /** 'valid': denominators still count every valid token (top-entropy); 'kept': only kept tokens (TIP). */
  denominator: 'valid' | 'kept';
  metrics: ObjectiveMetrics;
}

/** What a policy-gradient objective exposes to a per-token hook (Clip-Cov, KL-Cov). */
export interface TokenHookContext {
  batch: ObjectiveBatch;
  /** [B, T] the objective's per-token loss (differentiable). */
  perToken: tf.Tensor2D;
  /** [B, T] advantages (constant). */
  advantages: tf.Tensor2D;
  /** [B, T] importance ratio exp(lp - lpOld) (differentiable). */
  ratio: tf.Tensor2D;
  /** [B, T] 1 where PPO clipping took the clipped branch. */
  clipped: tf.Tensor2D;
}

export type TokenHook = (ctx: TokenHookContext) => { perToken: tf.Tensor2D; metrics: ObjectiveMetrics };

/** Optional composition inputs an objective honours. */
export interface LossHooks {
  selection?: Selection;
  tokenHook?: TokenHook;
}

/** A compiled objective: a loss over a batch, honouring a selection and a per-token hook. */
export type ObjectiveFn = (batch: ObjectiveBatch, hooks?: LossHooks) => ObjectiveResult;

/** A compiled token selector. */
export type TokenSelectorFn = (batch: ObjectiveBatch) => Selection;

/**
 * A compiled entropy control. Each stage is optional: `adjustBatch` rewrites advantages before the loss
 * (Entrocraft, CEEH-EA), `tokenHook` rewrites the per-token loss (Clip-Cov, KL-Cov), `extraLoss` adds a
 * regulariser (SIREN, CEEH-ME). AEPO only plans batch construction (`plan`).
 */
export interface EntropyControl {
  readonly name: string;
  adjustBatch?: (batch: ObjectiveBatch) => { batch: ObjectiveBatch; metrics: ObjectiveMetrics };
  tokenHook?: TokenHook;
  extraLoss?: (batch: ObjectiveBatch) => ObjectiveResult;
}

/** Per-sample facts a reward shaper may read (verifier side). Each shaper names the fields it requires. */
export interface RewardSample {
  /** The reward before shaping. */
  reward: number;
  correct?: boolean;
  /** Completion length in tokens. */
  length?: number;
  /** Length budget L for this sample (length-budget shaping). */
  budget?: number;
  /** Mean entropy of the thinking span and of the answer span (PEAR). */
  thinkEntropy?: number;
  answerEntropy?: number;
  /** The answer could be extracted (PEAR); default true. */
  parsed?: boolean;
  /** Well-formed <think> / <answer> spans (length-budget format term). */
  thinkWellFormed?: boolean;
  answerWellFormed?: boolean;
}

export type RewardShaperFn = (samples: readonly RewardSample[]) => number[];
