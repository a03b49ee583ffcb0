// Request checks shared by the actors' gRPC handlers (each throws INVALID_ARGUMENT naming the field).
import type { SamplingParams } from '../../src/generated/rlmesh/v1/common.ts';
import { check, requireInRange } from '../../src/platform/grpc/index.ts';

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
