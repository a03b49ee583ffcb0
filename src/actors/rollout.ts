// Rollout actor logic: sample G completions of one task with the current student, as Trajectory messages.
import { generate, score } from '../engine/index.ts';
import type { SamplingParams, TaskSpec, Trajectory } from '../generated/rlmesh/v1/common.ts';
import { ErrorCategory, RlmeshError } from '../errors.ts';
import { encodePrompt, hashSeed, type Policy } from './policy.ts';
import type { PrefixSource } from '../objectives/index.ts';

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
  /** W3C trace context copied into every trajectory of the group (the worker's span for it; default none). */
  traceContext?: Readonly<Record<string, string>>;
}

/** Rows per batched generate call (rollout workers and the in-process loop sample up to this many together). */
export const MAX_BATCH_SEQUENCES = 32;

/** Defaults applied to zero-valued proto sampling fields. */
export const DEFAULT_SAMPLING = { temperature: 1, topK: 0, topP: 1, maxNewTokens: 64 } as const;

/** Samples `groupSize` completions of `task.prompt`; seeded by the group id unless `sampling.seed` is set. */
export function rolloutGroup(policy: Policy, req: RolloutRequest): Trajectory[] {
  return rolloutGroups(policy, [req])[0]!;
}

/** True when two requests may share one generate call (the sampler takes one set of sampling options). */
export function samplingCompatible(a: SamplingParams, b: SamplingParams): boolean {
  const stops = (s: SamplingParams) => [...s.stopTokenIds].sort((x, y) => x - y).join(',');
  return (a.temperature || DEFAULT_SAMPLING.temperature) === (b.temperature || DEFAULT_SAMPLING.temperature)
    && (a.topK || 0) === (b.topK || 0) && (a.topP || 1) === (b.topP || 1)
    && (a.maxNewTokens || DEFAULT_SAMPLING.maxNewTokens) === (b.maxNewTokens || DEFAULT_SAMPLING.maxNewTokens)
    && String(a.seed || '') === String(b.seed || '') && stops(a) === stops(b);
}

/**
 * Samples every request's group in ONE batched generate call (rows = sum of group sizes), so a worker holding
 * several small groups keeps its generation batch full. The requests must have compatible sampling
 * (samplingCompatible). One group alone is seeded by its group id (unless `sampling.seed` is set), exactly as
 * rolloutGroup; a batch of several by the hash of their group ids, so its samples depend on which groups were
 * batched together. A group whose prompt leaves less room in the context than max_new_tokens gets a call of its own
 * (with the groups of the same room), so it never shortens the others' completions. Returns one trajectory list per
 * request, in order.
 */
export function rolloutGroups(policy: Policy, reqs: readonly RolloutRequest[]): Trajectory[][] {
  if (reqs.length === 0) return [];
  const first = reqs[0]!;
  for (const r of reqs) {
    if (!samplingCompatible(first.sampling, r.sampling)) {
      throw new RlmeshError(ErrorCategory.data, `group ${r.groupId} cannot share a generate call with ${first.groupId}: sampling differs`, { field: 'sampling' });
    }
  }
  const prompts = reqs.map((r) => encodePrompt(policy.tokenizer, r.task.prompt));
  const asked = first.sampling.maxNewTokens || DEFAULT_SAMPLING.maxNewTokens;
  const calls = new Map<number, number[]>(); // completion room -> indices of the requests with that room
  prompts.forEach((p, j) => {
    const room = Math.min(asked, policy.model.config.max_position_embeddings - p.length);
    const same = calls.get(room);
    if (same) same.push(j);
    else calls.set(room, [j]);
  });
  const out = new Array<Trajectory[]>(reqs.length);
  for (const [room, idx] of calls) {
    const groups = sampleCall(policy, idx.map((j) => reqs[j]!), idx.map((j) => prompts[j]!), room);
    idx.forEach((j, k) => { out[j] = groups[k]!; });
  }
  return out;
}

/** One generate call for these groups (prompts encoded), at most `maxNew` tokens each. */
function sampleCall(policy: Policy, reqs: readonly RolloutRequest[], prompts: readonly number[][], maxNew: number): Trajectory[][] {
  const { model } = policy;
  const s = reqs[0]!.sampling;
  const rows = reqs.flatMap((r, j) => Array.from({ length: r.groupSize }, () => prompts[j]!));
  const seqs = generate(model, rows, {
    maxNewTokens: maxNew,
    temperature: s.temperature || DEFAULT_SAMPLING.temperature,
    topK: s.topK || 0,
    topP: s.topP || 1,
    stopTokens: s.stopTokenIds,
    seed: s.seed ? Number(s.seed) : hashSeed(reqs.map((r) => r.groupId).join('\n')),
  });
  const now = Date.now();
  let row = 0;
  return reqs.map((req, j) => seqs.slice(row, (row += req.groupSize)).map((seq, i) => trajectoryOf(req, i, policy, prompts[j]!, now, {
    tokens: seq.tokens, samplingLogprobs: seq.samplingLogprobs, modelLogprobs: seq.modelLogprobs, entropies: seq.entropies,
    truncated: seq.finishReason === 'length',
  })));
}

/** Sample `i` of `req`'s group: the completion and its per-token arrays, with the group's ids, task and trace. */
function trajectoryOf(
  req: RolloutRequest, i: number, policy: Pick<Policy, 'tokenizer' | 'version'>, prompt: number[], now: number,
  c: { tokens: number[]; samplingLogprobs: number[]; modelLogprobs: number[]; entropies: number[]; truncated: boolean },
): Trajectory {
  return {
    trajectoryId: `${req.groupId}/${i}`,
    runId: req.runId,
    taskId: req.task.taskId,
    groupId: req.groupId,
    sampleIndex: i,
    task: req.task,
    promptTokenIds: prompt,
    completionTokenIds: c.tokens,
    samplingLogprobs: c.samplingLogprobs,
    modelLogprobs: c.modelLogprobs,
    entropies: c.entropies,
    policyVersion: policy.version,
    completionText: policy.tokenizer.decode(c.tokens, { skipSpecial: true }),
    truncated: c.truncated,
    reward: undefined,
    teacher: undefined,
    createdUnixMs: now,
    workerId: req.workerId,
    groupSize: req.groupSize,
    dispatchIndex: req.dispatchIndex ?? 0,
    traceContext: { ...req.traceContext },
  };
}

/** The models that may write a run's completions: the student always, the teacher when prefixes come from it. */
export interface Samplers {
  student: Policy;
  teacher?: Pick<Policy, 'model' | 'tokenizer'>;
}

/**
 * Samples each group from its prefix source (prefixSourceFor), in request order: student groups and teacher groups
 * in one generate call per source, dataset groups from their reference solution. Every trajectory carries the
 * student's version (the one that trains on it), whichever model wrote it.
 */
export function sampleGroups(samplers: Samplers, reqs: readonly RolloutRequest[], sourceOf: (r: RolloutRequest) => PrefixSource): Trajectory[][] {
  const bySource = new Map<PrefixSource, number[]>();
  reqs.forEach((r, j) => {
    const src = sourceOf(r);
    const idx = bySource.get(src);
    if (idx) idx.push(j);
    else bySource.set(src, [j]);
  });
  const out = new Array<Trajectory[]>(reqs.length);
  for (const [src, idx] of bySource) {
    const chosen = idx.map((j) => reqs[j]!);
    let groups: Trajectory[][];
    if (src === 'student') groups = rolloutGroups(samplers.student, chosen);
    else if (src === 'dataset') groups = datasetGroups(samplers.student, chosen);
    else {
      if (!samplers.teacher) throw new RlmeshError(ErrorCategory.config, 'teacher prefixes need the teacher model in the rollout worker', { field: 'teacher' });
      groups = rolloutGroups({ ...samplers.teacher, version: samplers.student.version }, chosen);
    }
    idx.forEach((j, k) => { out[j] = groups[k]!; });
  }
  return out;
}

/**
 * Groups whose completion is the task's reference solution (GKD's dataset share), G copies, with the student's own
 * log-probs and entropies of those tokens (one scoring pass) as their behaviour log-probs.
 */
export function datasetGroups(student: Policy, reqs: readonly RolloutRequest[]): Trajectory[][] {
  const { model, tokenizer } = student;
  const now = Date.now();
  const prompts = reqs.map((r) => encodePrompt(tokenizer, r.task.prompt));
  const completions = reqs.map((r, j) => {
    const room = Math.max(1, Math.min(r.sampling.maxNewTokens || DEFAULT_SAMPLING.maxNewTokens, model.config.max_position_embeddings - prompts[j]!.length));
    const ids = tokenizer.encode(r.task.referenceSolution, { eos: true });
    return ids.length > room ? ids.slice(0, room) : ids;
  });
  const scored = score(model, reqs.map((_r, j) => ({ prompt: prompts[j]!, completion: completions[j]! })));
  return reqs.map((req, j) => Array.from({ length: req.groupSize }, (_x, i) => trajectoryOf(req, i, student, prompts[j]!, now, {
    tokens: completions[j]!, samplingLogprobs: scored[j]!.logprobs, modelLogprobs: scored[j]!.logprobs, entropies: scored[j]!.entropies,
    truncated: completions[j]!.at(-1) !== tokenizer.eosId,
  })));
}

/** Splits requests, in order, into consecutive chunks of at most `maxRows` rows (a larger group alone). */
export function chunkByRows<T extends { groupSize: number }>(reqs: readonly T[], maxRows = MAX_BATCH_SEQUENCES): T[][] {
  const chunks: T[][] = [];
  let rows = 0;
  for (const r of reqs) {
    const last = chunks[chunks.length - 1];
    if (last && rows + r.groupSize <= maxRows) {
      last.push(r);
      rows += r.groupSize;
    } else {
      chunks.push([r]);
      rows = r.groupSize;
    }
  }
  return chunks;
}
