// Input checks for ragged token sequences: non-empty, ids inside the vocabulary, lengths inside the context.
import { invalidField } from '../errors.ts';
import type { LlamaConfig } from './config.ts';

/** Throws an RlmeshError naming `field[b][t]` for a bad id or `field[b]` for a bad length. */
export function checkSequences(seqs: number[][], c: LlamaConfig, field: string, allowEmpty = false): void {
  if (!Array.isArray(seqs) || seqs.length === 0) throw invalidField(field, 'must be a non-empty list of token sequences');
  seqs.forEach((s, b) => {
    if (!Array.isArray(s)) throw invalidField(`${field}[${b}]`, 'must be a list of token ids');
    if (!allowEmpty && s.length === 0) throw invalidField(`${field}[${b}]`, 'must contain at least one token');
    if (s.length > c.max_position_embeddings) {
      throw invalidField(`${field}[${b}]`, `length ${s.length} exceeds max_position_embeddings=${c.max_position_embeddings}`, { length: s.length });
    }
    s.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= c.vocab_size) {
        throw invalidField(`${field}[${b}][${t}]`, `token id ${id} is outside [0, vocab_size=${c.vocab_size})`, { value: id });
      }
    });
  });
}
