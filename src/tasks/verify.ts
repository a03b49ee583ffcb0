// Turns one completion into a reward with every component reported separately. Never throws: bad input
// (empty, oversized, invalid UTF-8, malformed tags) yields reward 0 with a reason.
import { extractAnswer, type AnswerSource } from './answer-extract.ts';
import { checkAnswer, type GradingTarget } from './check-answer.ts';
import { checkFormat } from './format-check.ts';
import { overlongPenalty, triangularLengthReward } from './length-rewards.ts';
import { compileRewardOptions, type CompiledRewardOptions } from './reward-options.ts';
import { ANSWER_KIND } from './task.ts';

/** Shaped like proto `rlmesh.v1.Reward`, plus where the answer came from. */
export interface RewardResult {
  total: number;
  components: Record<string, number>;
  correct: boolean;
  parsedAnswer: string;
  reason: string;
  formatOk: boolean;
  answerSource: AnswerSource;
}

const MAX_PARSED_ANSWER_CHARS = 1024; // reported back, not graded
const DEFAULT_OPTIONS = compileRewardOptions();
const SPECIAL_TAGS = /<\/?(?:think|answer)>/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Length in tokens of the char-level tokenizer: one per character, one per special tag. */
export function completionLength(text: string): number {
  let tagChars = 0;
  let tags = 0;
  for (const m of text.matchAll(SPECIAL_TAGS)) {
    tagChars += m[0].length;
    tags++;
  }
  return text.length - tagChars + tags;
}

function zeroReward(reason: string, parsedAnswer = '', answerSource: AnswerSource = 'none'): RewardResult {
  return { total: 0, components: { correctness: 0, format: 0 }, correct: false, parsedAnswer, reason, formatOk: false, answerSource };
}

/** Decodes and screens the raw completion; returns the text or the reason it is refused. */
function screen(completion: string | Uint8Array, maxChars: number): { text: string } | { refused: string } {
  let text: string;
  if (typeof completion === 'string') {
    if (completion.length > maxChars) return { refused: `completion too long: ${completion.length} chars > ${maxChars}` };
    if (completion.includes('\uFFFD')) return { refused: 'invalid UTF-8: completion contains U+FFFD replacement characters' };
    if (LONE_SURROGATE.test(completion)) return { refused: 'invalid UTF-16: lone surrogate in completion' };
    text = completion;
  } else {
    if (completion.byteLength > maxChars * 3) return { refused: `completion too long: ${completion.byteLength} bytes` };
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(completion);
    } catch {
      return { refused: 'invalid UTF-8 in completion bytes' };
    }
    if (text.length > maxChars) return { refused: `completion too long: ${text.length} chars > ${maxChars}` };
  }
  if (text.trim().length === 0) return { refused: 'empty completion' };
  return { text };
}

/**
 * Grades one completion. `completionTokens` (> 0) overrides the length measured from the text.
 * Options come from `compileRewardOptions` (validated once at the boundary).
 */
export function verifyCompletion(
  task: GradingTarget,
  completion: string | Uint8Array,
  options: CompiledRewardOptions = DEFAULT_OPTIONS,
  completionTokens = 0,
): RewardResult {
  try {
    const screened = screen(completion, options.maxCompletionChars);
    if ('refused' in screened) return zeroReward(screened.refused);
    const text = screened.text;
    const format = checkFormat(text);
    if (format.malformed) return zeroReward(format.reason);
    const extracted = extractAnswer(text, ANSWER_KIND[task.category]);
    const verdict = extracted.source === 'none' ? { correct: false, reason: 'no answer found' } : checkAnswer(task, extracted.text);
    const length = completionTokens > 0 ? completionTokens : completionLength(text);
    const components: Record<string, number> = {
      correctness: verdict.correct ? 1 : 0,
      format: options.formatThinkWeight * (format.thinkOk ? 1 : 0) + options.formatAnswerWeight * (format.answerOk ? 1 : 0),
      overlong: overlongPenalty(length, options.overlong),
    };
    if (options.lengthBudget !== null) components.length = triangularLengthReward(length, options.lengthBudget, options.lengthRewardMax);
    let total = 0;
    for (const [name, value] of Object.entries(components)) total += (options.weights[name as keyof typeof options.weights] ?? 0) * value;
    const formatOk = format.thinkOk && format.answerOk;
    const reason = formatOk ? verdict.reason : `${verdict.reason}; format: ${format.reason}`;
    const parsedAnswer = extracted.text.slice(0, MAX_PARSED_ANSWER_CHARS);
    return { total, components, correct: verdict.correct, parsedAnswer, reason, formatOk, answerSource: extracted.source };
  } catch (e) {
    // a grading bug must not take the verifier down; the reason makes it visible
    return zeroReward(`internal grading error: ${e instanceof Error ? e.message : String(e)}`);
  }
}
