// Character-level tokenizer with the task tags as single tokens, saved and loaded as a Hugging Face tokenizer.json.
//
// Vocabulary (ids fixed forever): 0 <pad>, 1 <bos>, 2 <eos>, 3 <unk>, 4 <think>, 5 </think>, 6 <answer>,
// 7 </answer>, then printable ASCII ' '..'~' (ids 8..102), then '\n' (103). 104 tokens.
//
// tokenizer.json layout (the Rust `tokenizers` library loads it: test/unit/engine/tokenizer-hf.test.ts): model
// WordLevel holding every token, a Split pre-tokenizer with the regex `[\s\S]` (every character, newline
// included, becomes its own word), the eight tags as added_tokens (matched in raw text before pre-tokenization;
// <pad> <bos> <eos> <unk> are `special`, the task tags are not, so skip_special_tokens keeps them), a
// TemplateProcessing post-processor that prepends <bos> (HF's `add_special_tokens=True` equals our
// `encode(text, { bos: true })`), and a Fuse decoder that concatenates tokens without separators. Characters
// outside the vocabulary (tab, '\r', non-ASCII) encode to <unk>, one per code point, so decoding them is lossy:
// the character is gone and "<unk>" (or nothing, with skipSpecial) comes back.
// A literal tag string in the text ("<eos>", "<answer>") encodes to the tag's id, exactly as HF does.
import { ErrorCategory, RlmeshError } from '../errors.ts';

export interface EncodeOptions {
  /** Prepend <bos>. Default false. */
  bos?: boolean;
  /** Append <eos>. Default false. */
  eos?: boolean;
}

export interface DecodeOptions {
  /** Drop <pad> <bos> <eos> <unk>; the task tags are kept. Default false. */
  skipSpecial?: boolean;
}

/** The subset of the HF tokenizer.json schema this tokenizer writes and reads. */
export interface TokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: Array<{
    id: number; content: string; single_word: boolean; lstrip: boolean; rstrip: boolean;
    normalized: boolean; special: boolean;
  }>;
  normalizer: null;
  pre_tokenizer: { type: 'Split'; pattern: { Regex: string }; behavior: 'Isolated'; invert: boolean };
  post_processor: {
    type: 'TemplateProcessing';
    single: Array<Record<string, { id: string; type_id: number }>>;
    pair: Array<Record<string, { id: string; type_id: number }>>;
    special_tokens: Record<string, { id: string; ids: number[]; tokens: string[] }>;
  };
  decoder: { type: 'Fuse' };
  model: { type: 'WordLevel'; vocab: Record<string, number>; unk_token: string };
}

export const SpecialToken = {
  pad: '<pad>',
  bos: '<bos>',
  eos: '<eos>',
  unk: '<unk>',
  think: '<think>',
  thinkEnd: '</think>',
  answer: '<answer>',
  answerEnd: '</answer>',
} as const;
export type SpecialToken = (typeof SpecialToken)[keyof typeof SpecialToken];

/** Tokens `skipSpecial` drops (and HF marks `special: true`). The task tags are not among them. */
const SKIPPABLE: readonly string[] = [SpecialToken.pad, SpecialToken.bos, SpecialToken.eos, SpecialToken.unk];
const TAGS: readonly string[] = Object.values(SpecialToken);

function builtinVocabulary(): string[] {
  const chars: string[] = [];
  for (let c = 0x20; c <= 0x7e; c++) chars.push(String.fromCharCode(c));
  return [...TAGS, ...chars, '\n'];
}

function dataError(field: string, message: string): RlmeshError {
  return new RlmeshError(ErrorCategory.data, `tokenizer.json ${field}: ${message}`, { field });
}

export class CharTokenizer {
  /** Token strings by id. */
  readonly tokens: readonly string[];
  readonly vocabSize: number;
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  readonly thinkId: number;
  readonly thinkEndId: number;
  readonly answerId: number;
  readonly answerEndId: number;
  private readonly ids: Map<string, number>;
  private readonly skippable: Set<number>;

  private constructor(tokens: readonly string[]) {
    this.tokens = tokens;
    this.vocabSize = tokens.length;
    this.ids = new Map(tokens.map((t, i) => [t, i]));
    const id = (t: string): number => this.ids.get(t)!;
    this.padId = id(SpecialToken.pad);
    this.bosId = id(SpecialToken.bos);
    this.eosId = id(SpecialToken.eos);
    this.unkId = id(SpecialToken.unk);
    this.thinkId = id(SpecialToken.think);
    this.thinkEndId = id(SpecialToken.thinkEnd);
    this.answerId = id(SpecialToken.answer);
    this.answerEndId = id(SpecialToken.answerEnd);
    this.skippable = new Set(SKIPPABLE.map(id));
  }

  /** The built-in vocabulary (104 tokens, ids documented at the top of this file). */
  static builtin(): CharTokenizer {
    return new CharTokenizer(builtinVocabulary());
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (options.bos) out.push(this.bosId);
    let i = 0;
    while (i < text.length) {
      const tag = text[i] === '<' ? TAGS.find((t) => text.startsWith(t, i)) : undefined;
      if (tag !== undefined) {
        out.push(this.ids.get(tag)!);
        i += tag.length;
        continue;
      }
      const cp = text.codePointAt(i)!;
      const ch = String.fromCodePoint(cp); // one code point: an astral character is one <unk>, not two
      out.push(ch.length === 1 ? (this.ids.get(ch) ?? this.unkId) : this.unkId);
      i += ch.length;
    }
    if (options.eos) out.push(this.eosId);
    return out;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    let s = '';
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RlmeshError(ErrorCategory.data, `token id ${id} at position ${k} is outside the vocabulary [0, ${this.vocabSize})`, {
          field: `ids[${k}]`,
        });
      }
      if (options.skipSpecial && this.skippable.has(id)) continue;
      s += this.tokens[id]!;
    }
    return s;
  }

  /** The token string of one id, e.g. "a", "\n" or "<answer>" (for displaying per-token scores). */
  idToToken(id: number): string {
    const t = this.tokens[id];
    if (t === undefined) throw new RlmeshError(ErrorCategory.data, `token id ${id} is outside the vocabulary [0, ${this.vocabSize})`, { field: 'id' });
    return t;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** The Hugging Face tokenizer.json object (write it with JSON.stringify). */
  toJSON(): TokenizerJson {
    const vocab: Record<string, number> = {};
    this.tokens.forEach((t, i) => { vocab[t] = i; });
    const seq = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
    const bos = { SpecialToken: { id: SpecialToken.bos, type_id: 0 } };
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: TAGS.map((content) => ({
        id: this.ids.get(content)!, content, single_word: false, lstrip: false, rstrip: false,
        normalized: false, special: SKIPPABLE.includes(content),
      })),
      normalizer: null,
      pre_tokenizer: { type: 'Split', pattern: { Regex: '[\\s\\S]' }, behavior: 'Isolated', invert: false },
      post_processor: {
        type: 'TemplateProcessing',
        single: [bos, seq('A', 0)],
        pair: [bos, seq('A', 0), { SpecialToken: { id: SpecialToken.bos, type_id: 1 } }, seq('B', 1)],
        special_tokens: { [SpecialToken.bos]: { id: SpecialToken.bos, ids: [this.bosId], tokens: [SpecialToken.bos] } },
      },
      decoder: { type: 'Fuse' },
      model: { type: 'WordLevel', vocab, unk_token: SpecialToken.unk },
    };
  }

  /**
   * Reads a tokenizer.json written by `toJSON` (or any WordLevel vocabulary of single characters plus the eight
   * tags, ids dense from 0). Anything else is refused with an RlmeshError naming the field.
   */
  static fromJSON(raw: unknown): CharTokenizer {
    if (typeof raw !== 'object' || raw === null) throw dataError('(root)', 'expected a JSON object');
    const model = (raw as { model?: unknown }).model;
    if (typeof model !== 'object' || model === null) throw dataError('model', 'missing');
    const { type, vocab, unk_token: unk } = model as { type?: unknown; vocab?: unknown; unk_token?: unknown };
    if (type !== 'WordLevel') throw dataError('model.type', `expected "WordLevel", got ${JSON.stringify(type)}`);
    if (unk !== SpecialToken.unk) throw dataError('model.unk_token', `expected "${SpecialToken.unk}", got ${JSON.stringify(unk)}`);
    if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw dataError('model.vocab', 'expected an object token -> id');
    for (const tag of TAGS) if (!Object.hasOwn(vocab, tag)) throw dataError(`model.vocab[${JSON.stringify(tag)}]`, 'missing');
    const entries = Object.entries(vocab as Record<string, unknown>);
    const tokens: string[] = new Array(entries.length);
    for (const [token, id] of entries) {
      const field = `model.vocab[${JSON.stringify(token)}]`;
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= entries.length) {
        throw dataError(field, `id ${JSON.stringify(id)} is not an integer in [0, ${entries.length})`);
      }
      if (tokens[id] !== undefined) throw dataError(field, `id ${id} is also used by ${JSON.stringify(tokens[id])}`);
      if (!TAGS.includes(token) && token.length !== 1) throw dataError(field, 'a non-tag token must be exactly one character');
      tokens[id] = token;
    }
    return new CharTokenizer(tokens);
  }
}
