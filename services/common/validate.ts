// Request checks shared by the actors' gRPC handlers (each throws INVALID_ARGUMENT naming the field).
import type { SamplingParams } from '../../src/generated/rlmesh/v1/common.ts';
import { check, requireInRange } from '../../src/platform/grpc/index.ts';
import { encodePrompt, type Policy } from '../../src/actors/index.ts';

export function checkSampling(s: SamplingParams, field: string): void {
  check(Number.isFinite(s.temperature) && s.temperature >= 0 && s.temperature <= 10, `${field}.temperature`, `must be in [0, 10], got ${s.temperature}`);
  requireInRange(s.topK, `${field}.top_k`, { min: 0, max: 100_000, integer: true });
  check(Number.isFinite(s.topP) && s.topP >= 0 && s.topP <= 1, `${field}.top_p`, `must be in [0, 1], got ${s.topP}`);
  requireInRange(s.maxNewTokens, `${field}.max_new_tokens`, { min: 0, max: 32_768, integer: true });
}

/** Checks token ids against the vocabulary. */
export function checkTokenIds(ids: readonly number[], vocab: number, field: string): void {
  ids.forEach((id, i) => check(Number.isInteger(id) && id >= 0 && id < vocab, `${field}.${i}`, `token id ${id} outside [0, ${vocab})`));
}

/**
 * At least the characters in the longest token of the character tokenizer (a tag such as `</answer>`, 9): text
 * longer than this many characters per context position cannot fit and is refused before it is encoded.
 */
export const MAX_TOKEN_CHARS = 16;

/**
 * A prompt the model can continue: not empty, and its tokens (with <bos>; tags are one token each) leave at least one
 * position of the context for the completion.
 */
export function checkPrompt(prompt: string, policy: Pick<Policy, 'model' | 'tokenizer'>, field: string): void {
  check(prompt.length > 0, field, 'must not be empty');
  const context = policy.model.config.max_position_embeddings;
  // No token is longer than MAX_TOKEN_CHARS characters, so a longer prompt is refused without encoding it all.
  check(prompt.length < context * MAX_TOKEN_CHARS, field, `is ${prompt.length} characters; the model's context is ${context} positions`);
  const tokens = encodePrompt(policy.tokenizer, prompt).length;
  check(tokens < context, field, `is ${tokens} tokens with <bos>; the model's context is ${context} positions, leaving none for a completion`);
}
