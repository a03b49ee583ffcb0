// TeacherScoring gRPC handlers: Score (per-token log-probs, top-k, full distribution) and Generate.
import { randomUUID } from 'node:crypto';
import { rolloutGroup, scoreTrajectories, type Teacher } from '../../src/actors/index.ts';
import type { TeacherScoringService, ScoreRequest, TeacherGenerateRequest } from '../../src/generated/rlmesh/v1/teacher.ts';
import type { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { check, requireInRange, requirePresent, unary, type HandlersFor } from '../../src/platform/grpc/index.ts';
import { checkPrompt, checkSampling, checkTokenIds } from '../common/validate.ts';
import { SamplingParams } from '../../src/generated/rlmesh/v1/common.ts';

export function validateScore(req: ScoreRequest, vocab: number, maxPositions: number): void {
  requireInRange(req.items.length, 'items', { min: 1, max: 1024, integer: true });
  requireInRange(req.topK, 'top_k', { min: 0, max: vocab, integer: true });
  req.items.forEach((it, i) => {
    check(it.promptTokenIds.length > 0, `items.${i}.prompt_token_ids`, 'must not be empty');
    checkTokenIds(it.promptTokenIds, vocab, `items.${i}.prompt_token_ids`);
    checkTokenIds(it.completionTokenIds, vocab, `items.${i}.completion_token_ids`);
    const len = it.promptTokenIds.length + it.completionTokenIds.length;
    check(len <= maxPositions, `items.${i}`, `prompt + completion is ${len} tokens; max_position_embeddings is ${maxPositions}`);
  });
}

export function validateTeacherGenerate(req: TeacherGenerateRequest, teacher: Pick<Teacher, 'model' | 'tokenizer'>): void {
  requirePresent(req.task, 'task');
  checkPrompt(req.task!.prompt, teacher, 'task.prompt');
  requireInRange(req.numSamples, 'num_samples', { min: 1, max: 256, integer: true });
  if (req.sampling) checkSampling(req.sampling, 'sampling');
}

export function teacherHandlers(teacher: Teacher): HandlersFor<typeof TeacherScoringService> {
  const { vocab_size: vocab, max_position_embeddings: maxPos } = teacher.model.config;
  return {
    score: unary(async (req) => {
      // The scoring path takes trajectories; a ScoreItem is a trajectory with only token ids (and context).
      const trajs = req.items.map((it) => ({
        promptTokenIds: it.promptTokenIds, completionTokenIds: it.completionTokenIds,
        task: it.privilegedContext ? { prompt: '', referenceSolution: it.privilegedContext } : undefined,
      }) as unknown as Trajectory);
      return { scores: scoreTrajectories({ ...teacher, privileged: false }, trajs, { topK: req.topK, full: req.fullDistribution }) };
    }, { validate: (req) => validateScore(req, vocab, maxPos) }),
    generate: unary(async (req) => ({
      completions: rolloutGroup(teacher, {
        runId: '', groupId: `teacher-${randomUUID()}`, task: req.task!, sampling: req.sampling ?? SamplingParams.fromPartial({}),
        groupSize: req.numSamples, workerId: teacher.id,
      }),
    }), { validate: (req) => validateTeacherGenerate(req, teacher) }),
  };
}
