// A loaded policy (model + tokenizer + version) and how a task prompt becomes token ids.
import { LlamaModel } from '../engine/index.ts';
import type { CharTokenizer } from '../engine/tokenizer.ts';
import { loadCheckpoint } from '../engine/checkpoint.ts';

export interface Policy {
  model: LlamaModel;
  tokenizer: CharTokenizer;
  /** Student weights version (0 = the initial checkpoint). */
  version: number;
}

/** Prompt ids the student sees: `<bos>` + the prompt text. */
export function encodePrompt(tokenizer: CharTokenizer, prompt: string): number[] {
  return tokenizer.encode(prompt, { bos: true });
}

/**
 * Prompt ids of a privileged self-teacher (PW-OPSD style): the reference solution is placed in its context
 * before the prompt, so the same weights score the student's tokens as if they knew the answer.
 */
export function encodePrivilegedPrompt(tokenizer: CharTokenizer, prompt: string, referenceSolution: string): number[] {
  return withPrivilegedContext(tokenizer, encodePrompt(tokenizer, prompt), referenceSolution);
}

/**
 * A prompt's ids (as encodePrompt makes them, <bos> first) with a privileged context put before it: <bos>, the
 * context, a newline, then the prompt (a tag never spans the newline, so this equals encoding the joined text).
 */
export function withPrivilegedContext(tokenizer: CharTokenizer, promptIds: readonly number[], context: string): number[] {
  const prompt = promptIds[0] === tokenizer.bosId ? promptIds.slice(1) : promptIds;
  return [...tokenizer.encode(`${context}\n`, { bos: true }), ...prompt];
}

/** 32-bit FNV-1a hash: stable per-group sampling seeds derived from ids. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Loads a checkpoint folder as a policy at version 0. */
export async function loadPolicy(dir: string): Promise<Policy> {
  const ckpt = await loadCheckpoint(dir);
  return { model: LlamaModel.fromWeights(ckpt.config, ckpt.weights), tokenizer: ckpt.tokenizer, version: 0 };
}
