// Rollout actor logic: sample G completions of one task with the current student, as Trajectory messages.
import { generate } from '../engine/index.ts';
import type { SamplingParams, TaskSpec, Trajectory } from '../generated/rlmesh/v1/common.ts';
import { encodePrompt, hashSeed, type Policy } from './policy.ts';

export interface RolloutRequest {
  runId: string;
  /** Shared by the G samples; trajectory ids are `<groupId>/<i>`. */
  groupId: string;
  task: TaskSpec;
  sampling: SamplingParams;
  groupSize: number;
  workerId: string;
  /** Curriculum's arm-local task index, echoed into the trajectories (default 0). */
  dispatchIndex?: number;
}

/** Defaults applied to zero-valued proto sampling fields. */
export const DEFAULT_SAMPLING = { temperature: 1, topK: 0, topP: 1, maxNewTokens: 64 } as const;

/** Samples `groupSize` completions of `task.prompt`; seeded by the group id unless `sampling.seed` is set. */
export function rolloutGroup(policy: Policy, req: RolloutRequest): Trajectory[] {
  const { model, tokenizer, version } = policy;
  const prompt = encodePrompt(tokenizer, req.task.prompt);
  const s = req.sampling;
  const maxNew = Math.min(s.maxNewTokens || DEFAULT_SAMPLING.maxNewTokens, model.config.max_position_embeddings - prompt.length);
  const seqs = generate(model, Array.from({ length: req.groupSize }, () => prompt), {
    maxNewTokens: maxNew,
    temperature: s.temperature || DEFAULT_SAMPLING.temperature,
    topK: s.topK || 0,
    topP: s.topP || 1,
    stopTokens: s.stopTokenIds,
    seed: s.seed ? Number(s.seed) : hashSeed(req.groupId),
  });
  const now = Date.now();
  return seqs.map((seq, i) => ({
    trajectoryId: `${req.groupId}/${i}`,
    runId: req.runId,
    taskId: req.task.taskId,
    groupId: req.groupId,
    sampleIndex: i,
    task: req.task,
    promptTokenIds: prompt,
    completionTokenIds: seq.tokens,
    samplingLogprobs: seq.samplingLogprobs,
    modelLogprobs: seq.modelLogprobs,
    entropies: seq.entropies,
    policyVersion: version,
    completionText: tokenizer.decode(seq.tokens, { skipSpecial: true }),
    truncated: seq.finishReason === 'length',
    reward: undefined,
    teacher: undefined,
    createdUnixMs: now,
    workerId: req.workerId,
    groupSize: req.groupSize,
    dispatchIndex: req.dispatchIndex ?? 0,
  }));
}
