// Teacher actor logic: score the student's tokens under the teacher (or a privileged self-teacher).
import { score } from '../engine/index.ts';
import type { TokenScores, Trajectory } from '../generated/rlmesh/v1/common.ts';
import { encodePrivilegedPrompt, type Policy } from './policy.ts';

export interface Teacher extends Policy {
  /** "teacher" or "self-privileged". */
  id: string;
  /** Put the task's reference solution in the teacher's context (PW-OPSD self-distillation). */
  privileged: boolean;
}

export interface TeacherScoreOptions {
  topK?: number;
  /** Include the full [T, V] log-softmax (distribution-level objectives). */
  full?: boolean;
}

/** Teacher prompt ids for one trajectory: the student's prompt, or the privileged context + prompt. */
export function teacherPrompt(teacher: Teacher, t: Trajectory): number[] {
  if (!teacher.privileged) return t.promptTokenIds;
  return encodePrivilegedPrompt(teacher.tokenizer, t.task?.prompt ?? '', t.task?.referenceSolution ?? '');
}

/** Scores every trajectory's completion tokens in one batch. */
export function scoreTrajectories(teacher: Teacher, trajectories: readonly Trajectory[], opts: TeacherScoreOptions = {}): TokenScores[] {
  const scored = score(
    teacher.model,
    trajectories.map((t) => ({ prompt: teacherPrompt(teacher, t), completion: t.completionTokenIds })),
    { topK: opts.topK ?? 0, full: opts.full ?? false },
  );
  const V = teacher.model.config.vocab_size;
  return scored.map((s, i) => {
    const T = trajectories[i]!.completionTokenIds.length;
    const K = opts.topK ?? 0;
    return {
      logprobs: s.logprobs,
      entropies: s.entropies,
      topK: K,
      topkIds: s.topK ? s.topK.ids.flat() : [],
      topkLogprobs: s.topK ? s.topK.logprobs.flat() : [],
      fullLogprobs: s.full ? { shape: [T, V], data: Array.from(s.full) } : undefined,
      modelVersion: teacher.version,
      modelId: teacher.id,
    };
  });
}
