// Turns scored trajectories into the learner's padded tensors (ObjectiveBatch inputs without the student terms).
//
// Layout: each row is prompt ++ completion shifted by one (inputs = seq[:-1], targets = seq[1:]), right-padded
// to L = max(P + C) - 1. Target position j predicts completion token j - (P - 1), so the mask is 1 exactly on
// positions P-1 .. P+C-2 of each row; per-token trajectory arrays are written at those positions.
import * as tf from '@tensorflow/tfjs';
import { RlmeshError, ErrorCategory } from '../errors.ts';
import type { Trajectory } from '../generated/rlmesh/v1/common.ts';

export interface TeacherNeeds {
  /** Teacher log-prob of each sampled token. */
  tokenLogprobs: boolean;
  /** Full teacher log-softmax [T, V] (distribution-level objectives). */
  full: boolean;
}

/**
 * Whether an objective learns from verifier rewards: the policy-gradient family (GRPO, DAPO, BNPO, Dr.GRPO, DRPO, also
 * with an OPD term) does, and OPD with `with_env_reward` (mode opd+rlvr); the other distillation objectives do not.
 */
export function objectiveUsesRewards(objective: string, params: Record<string, unknown> = {}): boolean {
  if (objective === 'opd-reverse-kl') return params.with_env_reward === true;
  return !['gkd-jsd', 'kl-mix', 'forward-kl', 'reverse-kl', 'pw-opsd'].includes(objective);
}

/** Which teacher scores an objective reads (by registry name). */
export function teacherNeeds(objective: string, params: Record<string, unknown> = {}, tokenSelector?: string): TeacherNeeds {
  // TIP ranks tokens by the teacher-student divergence of the full distributions (ALGORITHMS.md 4c), whatever the
  // objective needs of the teacher itself
  if (tokenSelector === 'tip') return { tokenLogprobs: true, full: true };
  switch (objective) {
    case 'opd-reverse-kl': return { tokenLogprobs: true, full: false };
    case 'gkd-jsd': case 'kl-mix': case 'forward-kl': case 'reverse-kl': case 'pw-opsd':
      return { tokenLogprobs: true, full: true };
    default:
      return { tokenLogprobs: Number(params.opd_kl_coef ?? 0) > 0, full: false };
  }
}

/** Plain arrays of one batch; tensors are made by `toTensors`, inside the caller's tidy scope. */
export interface LearnerArrays {
  B: number;
  L: number;
  inputs: number[][];        // [B, L] token ids (pad-filled)
  targets: number[][];       // [B, L]
  attention: number[][];     // [B, L] 1 on real input tokens
  mask: Float32Array;        // [B*L] 1 on completion targets
  samplingLogprobs: Float32Array; // [B*L]
  teacherLogprobs?: Float32Array; // [B*L]
  teacherFull?: Float32Array;     // [B*L*V]
  entropies: Float32Array;        // [B*L]
  rewards: number[];
  correct: boolean[];
  groupIds: string[];
  completionTokens: number;
}

function fail(t: Trajectory, field: string, message: string): RlmeshError {
  return new RlmeshError(ErrorCategory.data, `trajectory ${t.trajectoryId}: ${field}: ${message}`, { field });
}

/**
 * What every stage that runs a model on a trajectory's tokens checks (teacher and learner): a non-empty prompt and
 * completion, every id in [0, vocab), and at most `maxPositions` tokens in all. Throws a data error naming the field.
 */
export function checkTokens(t: Trajectory, vocab: number, maxPositions: number): void {
  if (t.promptTokenIds.length === 0) throw fail(t, 'prompt_token_ids', 'must not be empty');
  if (t.completionTokenIds.length === 0) throw fail(t, 'completion_token_ids', 'must not be empty');
  const len = t.promptTokenIds.length + t.completionTokenIds.length;
  if (len > maxPositions) throw fail(t, 'completion_token_ids', `prompt + completion is ${len} tokens; max_position_embeddings is ${maxPositions}`);
  for (const ids of [t.promptTokenIds, t.completionTokenIds]) {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) throw fail(t, 'completion_token_ids', `token id ${id} outside [0, ${vocab})`);
    }
  }
}

/**
 * The behaviour policy's log-probs of a trajectory's tokens, as the learner compares them with its own: the raw
 * model's at sampling time (temperature 1, untruncated), the distribution the learner's log-probs come from, so the
 * importance ratio is 1 on-policy (ALGORITHMS.md 0.1, 3.5) also when sampling used a temperature or top-k/top-p (the
 * sampling log-probs then differ by the temperature and the truncation's renormalisation: at temperature 0.6 a
 * sampled token got a ratio of 1.5 and was clipped before any update). Without them (a gRPC Step caller's
 * trajectory), the sampling log-probs, which are the same under default sampling.
 */
export function oldLogprobs(t: Trajectory): number[] {
  return t.modelLogprobs.length === t.completionTokenIds.length && t.modelLogprobs.length > 0 ? t.modelLogprobs : t.samplingLogprobs;
}

/** How far above 0 a recorded log-probability may be (float rounding), and the largest |reward| a step takes (a
 * verifier's weighted components are O(1); 3e38 overflowed group statistics into NaN). */
const LOGPROB_ROUNDING = 1e-3;
export const MAX_ABS_REWARD = 1e6;

/**
 * Validates the tokens (checkTokens), the per-token arrays each trajectory must carry for `needs`, its entropies (none,
 * or one finite value per completion token) and its reward (finite when present; required when `rewards`).
 */
export function checkTrajectory(t: Trajectory, needs: TeacherNeeds, vocab: number, maxPositions: number, rewards = false): void {
  checkTokens(t, vocab, maxPositions);
  const C = t.completionTokenIds.length;
  if (t.samplingLogprobs.length !== C) throw fail(t, 'sampling_logprobs', `length ${t.samplingLogprobs.length} != completion length ${C}`);
  if (t.samplingLogprobs.some((x) => !Number.isFinite(x))) throw fail(t, 'sampling_logprobs', 'must be finite');
  // log-probabilities: at most 0 (float rounding of a log-softmax can land a hair above)
  if (t.samplingLogprobs.some((x) => x > LOGPROB_ROUNDING)) throw fail(t, 'sampling_logprobs', `must be <= 0 (log-probabilities), got ${Math.max(...t.samplingLogprobs)}`);
  if (t.modelLogprobs.length !== 0 && t.modelLogprobs.length !== C) throw fail(t, 'model_logprobs', `length ${t.modelLogprobs.length} != completion length ${C} (or empty)`);
  if (t.modelLogprobs.some((x) => !Number.isFinite(x) || x > LOGPROB_ROUNDING)) throw fail(t, 'model_logprobs', 'must be finite and <= 0 (log-probabilities)');
  if (t.entropies.length !== 0 && t.entropies.length !== C) throw fail(t, 'entropies', `length ${t.entropies.length} != completion length ${C} (or empty)`);
  if (t.entropies.some((x) => !Number.isFinite(x))) throw fail(t, 'entropies', 'must be finite');
  if (t.reward && !(Math.abs(t.reward.total) <= MAX_ABS_REWARD)) throw fail(t, 'reward.total', `must be finite and within +-${MAX_ABS_REWARD}, got ${t.reward.total}`);
  if (rewards && !t.reward) throw fail(t, 'reward', 'missing (the objective learns from verifier rewards: is the verifier running?)');
  if (needs.tokenLogprobs || needs.full) {
    const s = t.teacher;
    if (!s) throw fail(t, 'teacher', 'missing teacher scores (is the teacher actor running?)');
    if (s.logprobs.length !== C) throw fail(t, 'teacher.logprobs', `length ${s.logprobs.length} != completion length ${C}`);
    if (s.logprobs.some((x) => !Number.isFinite(x))) throw fail(t, 'teacher.logprobs', 'must be finite');
    if (s.logprobs.some((x) => x > LOGPROB_ROUNDING)) throw fail(t, 'teacher.logprobs', `must be <= 0 (log-probabilities), got ${Math.max(...s.logprobs)}`);
    if (needs.full) {
      const f = s.fullLogprobs;
      if (!f || f.shape.length !== 2 || f.shape[0] !== C || f.shape[1] !== vocab || f.data.length !== C * vocab) {
        throw fail(t, 'teacher.full_logprobs', `must have shape [${C}, ${vocab}]`);
      }
      for (const x of f.data) if (!Number.isFinite(x)) throw fail(t, 'teacher.full_logprobs', 'must be finite');
    }
  }
}

export function buildArrays(trajs: readonly Trajectory[], needs: TeacherNeeds, vocab: number, padId: number): LearnerArrays {
  const B = trajs.length;
  const L = Math.max(...trajs.map((t) => t.promptTokenIds.length + t.completionTokenIds.length)) - 1;
  const mask = new Float32Array(B * L), slp = new Float32Array(B * L), ent = new Float32Array(B * L);
  const tlp = needs.tokenLogprobs || needs.full ? new Float32Array(B * L) : undefined;
  const full = needs.full ? new Float32Array(B * L * vocab).fill(-Math.log(vocab)) : undefined;
  const inputs: number[][] = [], targets: number[][] = [], attention: number[][] = [];
  let completionTokens = 0;
  trajs.forEach((t, b) => {
    const seq = [...t.promptTokenIds, ...t.completionTokenIds];
    const P = t.promptTokenIds.length, C = t.completionTokenIds.length;
    const old = oldLogprobs(t);
    const row = (xs: number[]) => [...xs, ...Array(L - xs.length).fill(padId)];
    inputs.push(row(seq.slice(0, -1)));
    targets.push(row(seq.slice(1)));
    attention.push([...Array(seq.length - 1).fill(1), ...Array(L - seq.length + 1).fill(0)]);
    for (let i = 0; i < C; i++) {
      const j = b * L + P - 1 + i;
      mask[j] = 1;
      slp[j] = old[i]!;
      ent[j] = t.entropies[i] ?? 0;
      if (tlp) tlp[j] = t.teacher!.logprobs[i]!;
      if (full) full.set(t.teacher!.fullLogprobs!.data.slice(i * vocab, (i + 1) * vocab), j * vocab);
    }
    completionTokens += C;
  });
  return {
    B, L, inputs, targets, attention, mask, samplingLogprobs: slp, teacherLogprobs: tlp, teacherFull: full, entropies: ent,
    rewards: trajs.map((t) => t.reward?.total ?? 0),
    correct: trajs.map((t) => t.reward?.correct ?? false),
    groupIds: trajs.map((t) => t.groupId),
    completionTokens,
  };
}

/** Constant tensors of a batch (caller disposes them). */
export function toTensors(a: LearnerArrays, vocab: number) {
  const s2 = (x: Float32Array) => tf.tensor2d(x, [a.B, a.L]);
  return {
    inputs: tf.tensor2d(a.inputs, [a.B, a.L], 'int32'),
    targets: tf.tensor2d(a.targets, [a.B, a.L], 'int32'),
    attention: tf.tensor2d(a.attention, [a.B, a.L], 'int32'),
    mask: s2(a.mask),
    samplingLogprobs: s2(a.samplingLogprobs),
    entropies: s2(a.entropies),
    teacherLogprobs: a.teacherLogprobs ? s2(a.teacherLogprobs) : undefined,
    teacherLogprobsFull: a.teacherFull ? tf.tensor3d(a.teacherFull, [a.B, a.L, vocab]) : undefined,
  };
}
