// TeacherScoring gRPC handlers: Score (per-token log-probs, top-k, full distribution) and Generate.
import { randomUUID } from 'node:crypto';
import { rolloutGroup, scoreTrajectories, withPrivilegedContext, type Teacher } from '../../src/actors/index.ts';
import type { TeacherScoringService, ScoreItem, ScoreRequest, TeacherGenerateRequest } from '../../src/generated/rlmesh/v1/teacher.ts';
import type { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { check, requireInRange, requirePresent, unary, type HandlersFor } from '../../src/platform/grpc/index.ts';
import { checkPrompt, checkSampling, checkTokenIds, MAX_TOKEN_CHARS } from '../common/validate.ts';
import { SamplingParams } from '../../src/generated/rlmesh/v1/common.ts';

/** The ids the teacher reads before the completion: the prompt, after the privileged context when there is one. */
function scorePrompt(teacher: Pick<Teacher, 'tokenizer'>, it: ScoreItem): number[] {
  return it.privilegedContext ? withPrivilegedContext(teacher.tokenizer, it.promptTokenIds, it.privilegedContext) : it.promptTokenIds;
}

export function validateScore(req: ScoreRequest, teacher: Pick<Teacher, 'model' | 'tokenizer'>): void {
  const { vocab_size: vocab, max_position_embeddings: maxPositions } = teacher.model.config;
  requireInRange(req.items.length, 'items', { min: 1, max: 1024, integer: true });
  requireInRange(req.topK, 'top_k', { min: 0, max: vocab, integer: true });
  req.items.forEach((it, i) => {
    check(it.promptTokenIds.length > 0, `items.${i}.prompt_token_ids`, 'must not be empty');
    checkTokenIds(it.promptTokenIds, vocab, `items.${i}.prompt_token_ids`);
    checkTokenIds(it.completionTokenIds, vocab, `items.${i}.completion_token_ids`);
    check(it.privilegedContext.length <= maxPositions * MAX_TOKEN_CHARS, `items.${i}.privileged_context`, `is ${it.privilegedContext.length} characters; the model's context is ${maxPositions} positions`);
    const len = scorePrompt(teacher, it).length + it.completionTokenIds.length;
    const what = it.privilegedContext ? 'privileged context + prompt + completion' : 'prompt + completion';
    check(len <= maxPositions, `items.${i}`, `${what} is ${len} tokens; max_position_embeddings is ${maxPositions}`);
  });
  // The reply holds, per completion token, its log-prob and entropy, top_k ids and log-probs, and with
  // full_distribution a row of the vocabulary: refused before scoring when it cannot fit one gRPC message.
  const tokens = req.items.reduce((a, it) => a + it.completionTokenIds.length, 0);
  const replyBytes = tokens * 4 * (2 + 2 * req.topK + (req.fullDistribution ? vocab : 0));
  check(replyBytes <= MAX_REPLY_BYTES, req.fullDistribution ? 'full_distribution' : 'top_k',
    `the reply would hold ~${Math.ceil(replyBytes / 2 ** 20)} MiB for ${tokens} completion tokens (at most ${MAX_REPLY_BYTES / 2 ** 20} MiB): send fewer items per call`);
}

/** Largest Score reply, bytes: under the servers' 64 MiB message limit, with room for the framing. */
const MAX_REPLY_BYTES = 60 * 2 ** 20;

export function validateTeacherGenerate(req: TeacherGenerateRequest, teacher: Pick<Teacher, 'model' | 'tokenizer'>): void {
  requirePresent(req.task, 'task');
  checkPrompt(req.task!.prompt, teacher, 'task.prompt');
  requireInRange(req.numSamples, 'num_samples', { min: 1, max: 256, integer: true });
  if (req.sampling) checkSampling(req.sampling, 'sampling');
}

export function teacherHandlers(teacher: Teacher): HandlersFor<typeof TeacherScoringService> {
  return {
    score: unary(async (req) => {
      // The scoring path takes trajectories; a ScoreItem is a trajectory with only token ids, its privileged
      // context (when given) already put before the prompt.
      const trajs = req.items.map((it) => ({
        promptTokenIds: scorePrompt(teacher, it), completionTokenIds: it.completionTokenIds,
      }) as unknown as Trajectory);
      return { scores: scoreTrajectories({ ...teacher, privileged: false }, trajs, { topK: req.topK, full: req.fullDistribution }) };
    }, { validate: (req) => validateScore(req, teacher) }),
    generate: unary(async (req) => ({
      completions: rolloutGroup(teacher, {
        runId: '', groupId: `teacher-${randomUUID()}`, task: req.task!, sampling: req.sampling ?? SamplingParams.fromPartial({}),
        groupSize: req.numSamples, workerId: teacher.id,
      }),
    }), { validate: (req) => validateTeacherGenerate(req, teacher) }),
  };
}
